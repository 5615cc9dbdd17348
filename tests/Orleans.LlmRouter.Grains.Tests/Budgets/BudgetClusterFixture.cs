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
          - id: lvl
            projects:
              - { id: app, budgets: { tokens: { lifetime: 600 } } }
              - { id: wide }
            keys:
              - { id: k-small, hash: "sha256:8a5b0dc0c749a4e464dd125593d4a53a4c42da9bc41719c82b0faf5e146ec0d7", project: wide, budgets: { tokens: { lifetime: 300 } } }
              - { id: k-rpm, hash: "sha256:ae2e55e84df265202ba02d10585759fecf3659e67481e998fd3a332ea7cbf65b", project: wide, limits: { rpm: 2 } }
              - { id: k-app, hash: "sha256:32963f6c5206b84dc2824626748d39edf27b66b6f33033101b3c2c92e1bed309", project: app }
              - { id: k-models, hash: "sha256:d5b12da48747a4cd5139747cd0b07a113993f862055334849849b8513285d83d", allowed_models: [cheap] }
              - { id: k-free, hash: "sha256:600862fb4c35056fb62cd5992c641eae153c22511c38909d0fd972d28a11b485" }
            end_users:
              alice: { budgets: { tokens: { lifetime: 300 } } }
              bob: { limits: { rpm: 1 } }
          - id: lvt
            budgets: { tokens: { lifetime: 300 } }
            keys:
              - { id: k-t, hash: "sha256:eec46af02f0afe5b7b1f6c976f280a94c96d73927ea9d5b82955ad61cab22f1b" }
          - id: lvc
            budgets: { tokens: { lifetime: 20000 } }
            projects:
              - { id: p, budgets: { tokens: { lifetime: 6000 } } }
            keys:
              - { id: ka, hash: "sha256:764d42b5d1876e7d9589b4b257fd40bbcfde59ca5886a38e5e99e645cfb1b8d5", project: p, budgets: { tokens: { lifetime: 2500 } } }
              - { id: kb, hash: "sha256:853a2ae7e8419dd06ceb5b235886ddc5580b57c0529b456357b8d0495e3f791d", project: p, budgets: { tokens: { lifetime: 4000 } } }
            end_users:
              u1: { budgets: { tokens: { lifetime: 1500 } } }
              u2: { budgets: { tokens: { lifetime: 2000 } } }
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
