using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>One real gateway (silo + Kestrel on a loopback port) shared by a test collection.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string DevKey = "sk-llmrouter-dev";

    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask InitializeAsync()
    {
        var config = Path.Combine(AppContext.BaseDirectory, "shipped-config");
        _app = GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={config}",
            $"--LlmRouter:SiloPort={FreePort()}",
            $"--LlmRouter:GatewayPort={FreePort()}",
            $"--LlmRouter:ClusterId=test-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        Client = new HttpClient { BaseAddress = BaseAddress };
        Client.DefaultRequestHeaders.Authorization = new("Bearer", DevKey);
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
