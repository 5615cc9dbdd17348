using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>
/// One real gateway (silo + Kestrel on a loopback port) shared by a test collection, with the shipped configuration
/// plus a provider on the wire-faithful mock upstream (<see cref="MockBackedConfig"/>). Every log line is captured, at
/// Debug for the gateway and HTTP client categories. A derived fixture can add arguments and services
/// (<see cref="Arguments"/>, <see cref="Configure"/>), e.g. a fake router clock.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    public const string DevKey = "sk-llmrouter-dev";

    private WebApplication? _app;
    private string? _configDir;

    public MockUpstreamServer Mock { get; private set; } = null!;

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The silo's Orleans gateway port, for Orleans clients (localhost clustering).</summary>
    public int GatewayPort { get; } = FreePort();

    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";

    public HttpClient Client { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The gateway's services (e.g. its in-memory ledger).</summary>
    public IServiceProvider Services => _app!.Services;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Command-line settings added after the fixture's own.</summary>
    protected virtual IEnumerable<string> Arguments => [];

    /// <summary>Adjusts the gateway's builder before the gateway adds its services (services registered here win).</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    public async ValueTask InitializeAsync()
    {
        Mock = await MockUpstreamServer.StartAsync();
        var config = _configDir = MockBackedConfig.Create(Mock.BaseAddress);
        _app = GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={config}",
            $"--LlmRouter:SiloPort={FreePort()}",
            $"--LlmRouter:GatewayPort={GatewayPort}",
            $"--LlmRouter:ClusterId={ClusterId}",
            "--Logging:LogLevel:Default=Warning",
            .. Arguments,
        ],
        builder =>
        {
            Configure(builder);
            builder.Logging.AddProvider(Logs);
            builder.Logging.AddFilter<CapturingLoggerProvider>("Orleans.LlmRouter", LogLevel.Debug);
            builder.Logging.AddFilter<CapturingLoggerProvider>("System.Net.Http", LogLevel.Trace);
            builder.Logging.AddFilter<CapturingLoggerProvider>("Microsoft.AspNetCore", LogLevel.Information);
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        Client = new HttpClient { BaseAddress = BaseAddress };
        Client.DefaultRequestHeaders.Authorization = new("Bearer", DevKey);
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
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
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
