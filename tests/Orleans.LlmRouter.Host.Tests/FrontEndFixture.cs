using Microsoft.AspNetCore.Builder;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>The separate-process shape in one test process: a silo-only gateway and a front end that reaches it as an Orleans client.</summary>
public sealed class FrontEndFixture : IAsyncLifetime
{
    private WebApplication? _silo;
    private WebApplication? _frontEnd;
    private string? _configDir;

    public MockUpstreamServer Mock { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public Uri SiloAddress { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Mock = await MockUpstreamServer.StartAsync();
        var config = _configDir = MockBackedConfig.Create(Mock.BaseAddress);
        var gatewayPort = GatewayFixture.FreePort();
        var cluster = $"fe-{Guid.NewGuid():N}";
        string[] common = [$"--LlmRouter:ConfigPath={config}", $"--LlmRouter:GatewayPort={gatewayPort}", $"--LlmRouter:ClusterId={cluster}", "--Logging:LogLevel:Default=Warning", "--urls", "http://127.0.0.1:0",
            "--LlmRouter:AllowDevKeys=true", "--LlmRouter:AllowSimulated=true"]; // not the embedded mode: the dev key and simulated models are opt-in
        _silo = GatewayHost.Build([.. common, "--LlmRouter:Role=silo", $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"]);
        await _silo.StartAsync();
        SiloAddress = new Uri(_silo.Urls.First());
        _frontEnd = GatewayHost.Build([.. common, "--LlmRouter:Role=frontend"]);
        await _frontEnd.StartAsync();
        Client = new HttpClient { BaseAddress = new Uri(_frontEnd.Urls.First()) };
        Client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        foreach (var app in new[] { _frontEnd, _silo })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }

        if (Mock is not null)
        {
            await Mock.DisposeAsync();
        }

        if (_configDir is not null)
        {
            Directory.Delete(_configDir, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FrontEndCollection : ICollectionFixture<FrontEndFixture>
{
    public const string Name = "frontend";
}
