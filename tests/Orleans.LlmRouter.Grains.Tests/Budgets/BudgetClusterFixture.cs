using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>Three silos sharing a fake router clock and one in-memory ledger (so a grain can move between silos).</summary>
public sealed class BudgetClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: sim, type: simulated, retry: { max_attempts: 1 } }
          - { id: slow, type: simulated, options: { chunk_delay_ms: 100 } }
          - { id: conc, type: simulated, retry: { max_attempts: 1 }, limits: { max_concurrency: 2 } }
        models:
          - { name: guarded, provider: conc, provider_model: guarded-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 1 } }
          - { name: json-a, provider: sim, provider_model: json-a-1, capabilities: [chat, structured_output], context_window: 100000, max_output_tokens: 100, pricing: { input: 3, output: 7 } }
          - { name: json-b, provider: sim, provider_model: json-b-1, capabilities: [chat, structured_output], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 1 } }
          - { name: cheap, provider: sim, provider_model: cheap-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 1 } }
          - { name: pricey, provider: sim, provider_model: pricey-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 100, output: 100 } }
          - { name: slowm, provider: slow, provider_model: slow-1, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 1 } }
        actions:
          - name: chat
            strategies:
              default: [pricey, cheap]
          - name: guardchain
            strategies:
              default: [guarded, cheap]
          - name: jsonchain
            requires: [structured_output]
            strategies:
              default: [json-a, json-b]
        tenants:
          - { id: lease }
          - { id: crash }
          - { id: billv }
          - { id: nousage }
          - { id: tpmt, limits: { tpm: 1000 } }
          - { id: tpmsmall, limits: { tpm: 200 } }
          - { id: runusd, budgets: { run_usd: 0.02 } }
          - { id: b1, budgets: { tokens: { daily: 5000 } } }
          - { id: b4, budgets: { tokens: { daily: 300 } } }
          - { id: wk, budgets: { tokens: { weekly: 300 } } }
          - { id: b5, budgets: { tokens: { lifetime: 130 } } }
          - { id: usd, budgets: { usd: { daily: 0.005 } } }
          - { id: run, budgets: { run_tokens: 150 } }
          - { id: ledger }
          - { id: idem }
          - { id: stream }
          - { id: rated, limits: { rpm: 3 } }
          - { id: rpm-load, limits: { rpm: 600000 } }
          - { id: tpm-load, limits: { tpm: 6000000 } }
          - { id: rpm-full, limits: { rpm: 600 } }
          - { id: tpm-full, limits: { tpm: 6000 } }
        """;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 22, 23, 0, 0, TimeSpan.Zero));

    internal InMemoryLedger Ledger { get; } = new();

    public ModelCatalog Catalog { get; } = new CatalogLoader(environment: _ => null).Load([("budgets.yaml", Yaml)]).Catalog;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton(new RouterClock(Clock));
            silo.Services.AddSingleton<ILedger>(Ledger);
            silo.Services.AddLlmRouterGrains(Catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BudgetClusterCollection : ICollectionFixture<BudgetClusterFixture>
{
    public const string Name = "budget-cluster";
}
