using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// Three silos with the production storage wiring (ADO.NET grain storage with System.Text.Json and the PostgreSQL
/// ledger, through <see cref="SiloSettings"/>), on a fresh database reached through a loopback proxy so tests can cut it.
/// </summary>
public sealed class DurableClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: sim, type: simulated, retry: { max_attempts: 1 }, options: { latency_ms: 0 } }
        models:
          - { name: m, provider: sim, provider_model: m-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }
          - { name: e, provider: sim, provider_model: sim-embed-1, capabilities: [embedding], context_window: 8192, max_output_tokens: 1, pricing: { input: 0.02, output: 0 } }
        tenants:
          - { id: small, budgets: { tokens: { daily: 6000 }, usd: { daily: 1 } } }
          - { id: t1 }
          - { id: t2 }
          - { id: t3 }
          - { id: dup }
          - { id: fenced }
          - { id: outage }
          - { id: after-outage }
          - { id: weekly, budgets: { tokens: { weekly: 400 } } }
          - { id: cached, cache: { enabled: true } }
          - { id: cached-outage, cache: { enabled: true } }
          - { id: semantic, cache: { enabled: true, semantic: { model: e, threshold: 0.9, dimensions: 256 } } }
        """;

    public PostgresDatabase Database { get; } = new();

    public LoopbackProxy? Proxy { get; private set; }

    public ModelCatalog Catalog { get; } = new CatalogLoader(environment: _ => null).Load([("durable.yaml", Yaml)]).Catalog;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public string ProxiedConnectionString { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        await Database.InitializeAsync();
        if (!Database.Available)
        {
            return;
        }

        var target = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        Proxy = new LoopbackProxy(target.Host!, target.Port);
        ProxiedConnectionString = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Host = "127.0.0.1", Port = Proxy.Port, Timeout = 3 }.ConnectionString;
        Cluster = await StartClusterAsync();
    }

    public async Task<InProcessTestCluster> StartClusterAsync()
    {
        var spool = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName;
        var settings = SiloSettings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmRouter:Storage"] = "postgres",
            ["LlmRouter:Postgres"] = ProxiedConnectionString,
            ["LlmRouter:SpoolDirectory"] = spool,
        }).Build());
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            settings.Apply(silo, includeClustering: false);
            silo.Services.AddLlmRouterGrains(Catalog);

            // Short leases: the reservations of a killed silo's calls come back within seconds in these tests.
            silo.Services.Configure<Grains.Budgets.BudgetOptions>(o => o.ReservationLease = TimeSpan.FromSeconds(6));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public async ValueTask DisposeAsync()
    {
        if (Database.Available)
        {
            await StopAsync(Cluster);
            await Proxy!.DisposeAsync();
        }

        await Database.DisposeAsync();
    }

    /// <summary>Stops a test cluster, bounded in time: teardown must never hold the suite.</summary>
    public static async Task StopAsync(InProcessTestCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        try
        {
            await cluster.StopAllSilosAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Left to process exit; the database is dropped with FORCE regardless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DurableClusterCollection : ICollectionFixture<DurableClusterFixture>
{
    public const string Name = "durable-cluster";
}
