using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// One durable gateway (silo + HTTP on loopback) with grain state and the ledger on a fresh PostgreSQL database, a
/// random admin key and tenants with their own keys: <c>ta</c> and <c>tb</c> for the reconcile tests (which count their
/// ledger rows), <c>tr</c> for the others. For tests of the admin API against the real ledger.
/// </summary>
public sealed class DurableGatewayFixture : IAsyncLifetime
{
    public const string KeyA = "sk-test-reconcile-a";
    public const string KeyB = "sk-test-reconcile-b";

    /// <summary>The key of tenant <c>tr</c>, for tests whose calls must not show in the reconcile tests' ledger counts.</summary>
    public const string KeyR = "sk-test-responses-r";

    private WebApplication? _app;

    public PostgresDatabase Database { get; } = new();

    public string AdminKey { get; } = "admin-" + Guid.NewGuid().ToString("N");

    public string SpoolDirectory { get; } = Directory.CreateTempSubdirectory("llmrouter-gw-spool-").FullName;

    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async ValueTask InitializeAsync()
    {
        await Database.InitializeAsync();
        if (!Database.Available)
        {
            return;
        }

        var config = Directory.CreateTempSubdirectory("llmrouter-gw-config-").FullName;
        await File.WriteAllTextAsync(Path.Combine(config, "gateway.yaml"), $$"""
            providers:
              - { id: sim, type: simulated, retry: { max_attempts: 1 }, options: { latency_ms: 0 } }
            models:
              - { name: m, provider: sim, provider_model: m-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }
            tenants:
              - { id: ta, key_hashes: ["{{Hash(KeyA)}}"], time_zone: UTC }
              - { id: tb, key_hashes: ["{{Hash(KeyB)}}"], time_zone: UTC }
              - { id: tr, key_hashes: ["{{Hash(KeyR)}}"], time_zone: UTC }
            """);
        _app = GatewayHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={config}",
            "--LlmRouter:Storage=postgres",
            $"--LlmRouter:Postgres={Database.ConnectionString}",
            $"--LlmRouter:SpoolDirectory={SpoolDirectory}",
            $"--LlmRouter:AdminKeyHash={Hash(AdminKey)}",
            "--LlmRouter:AllowSimulated=true", // the durable mode keeps the simulated provider off unless asked
            $"--LlmRouter:SiloPort={FreePort()}",
            $"--LlmRouter:GatewayPort={FreePort()}",
            $"--LlmRouter:ClusterId=reconcile-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
    }

    /// <summary>An HTTP client for the gateway holding <paramref name="key"/> (none: anonymous).</summary>
    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await Database.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class DurableGatewayCollection : ICollectionFixture<DurableGatewayFixture>
{
    public const string Name = "durable-gateway";
}
