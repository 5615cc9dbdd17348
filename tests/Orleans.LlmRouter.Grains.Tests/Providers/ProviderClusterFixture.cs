using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Providers;

/// <summary>Three silos sharing one fake router clock, with a filter counting calls to provider grains per method.</summary>
public sealed class ProviderClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: flaky, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 4, window_seconds: 60, break_seconds: 30 } }
          - { id: probe, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { id: rpm, type: simulated, limits: { rpm: 60 } }
          - { id: tpm, type: simulated, limits: { tpm: 1000 } }
          - { id: conc, type: simulated, limits: { max_concurrency: 4 } }
          - { id: warm, type: simulated }
          - { id: warmlimited, type: simulated, limits: { rpm: 6000, tpm: 10000000 } }
          - { id: paused, type: simulated }
          - { id: switch, type: simulated }
          - { id: idle, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { id: durable, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 300 } }
          - { id: scoped, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { id: probecancel, type: simulated, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { id: probetpm, type: simulated, limits: { tpm: 1000 }, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { id: slotlease, type: simulated, limits: { max_concurrency: 2 } }
          - { id: tpmrefund, type: simulated, limits: { tpm: 1000 } }
          - { id: conc4096, type: simulated, limits: { max_concurrency: 4096 } }
          - { id: slotidle, type: simulated, limits: { max_concurrency: 16 } }
          - { id: conc320, type: simulated, limits: { max_concurrency: 320 } }
          - { id: conc32, type: simulated, limits: { max_concurrency: 32 } }
          - { id: rpmload, type: simulated, limits: { rpm: 600000 } }
          - { id: tpmload, type: simulated, limits: { tpm: 6000000 } }
          - { id: rpmfull, type: simulated, limits: { rpm: 6000 } }
          - { id: tpmfull, type: simulated, limits: { tpm: 60000 } }
          - { id: loadscoped, type: simulated }
        models:
          - { name: m-limited, provider: scoped, provider_model: l, capabilities: [chat], context_window: 1000, max_output_tokens: 10, pricing: { input: 1, output: 1 }, limits: { rpm: 6 } }
          - { name: m-fragile, provider: scoped, provider_model: f, capabilities: [chat], context_window: 1000, max_output_tokens: 10, pricing: { input: 1, output: 1 },
              circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 } }
          - { name: m-rpmload, provider: loadscoped, provider_model: r, capabilities: [chat], context_window: 1000, max_output_tokens: 10, pricing: { input: 1, output: 1 }, limits: { rpm: 600000, tpm: 60000000, max_concurrency: 320 } }
          - name: m-deployed
            capabilities: [chat]
            context_window: 1000
            max_output_tokens: 10
            pricing: { input: 1, output: 1 }
            deployments:
              - { provider: loadscoped, provider_model: d, limits: { rpm: 600000, tpm: 60000000, max_concurrency: 320 } }
          - { name: m-plain, provider: scoped, provider_model: p, capabilities: [chat], context_window: 1000, max_output_tokens: 10, pricing: { input: 1, output: 1 } }
        """;

    public static readonly ConcurrentDictionary<string, int> ProviderGrainCalls = new(StringComparer.Ordinal);

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    public ModelCatalog Catalog { get; } = new CatalogLoader(environment: _ => null).Load([("providers.yaml", Yaml)]).Catalog;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    internal IReadOnlyList<ProviderGate> Gates { get; private set; } = [];

    public ProviderDefinition Provider(string id) => Catalog.Providers[id];

    public ModelDefinition Model(string name) => Catalog.Models[name];

    public static int CallsTo(string method) => ProviderGrainCalls.GetValueOrDefault(method);

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton(new RouterClock(Clock));
            silo.Services.AddLlmRouterGrains(Catalog);
            // The load tests advance the fake clock while grain calls are in flight on a busy machine: the gate's bound on
            // a grain call (fake time) must not cut them. No test here is about that bound.
            silo.Services.Configure<Orleans.LlmRouter.Grains.Routing.RouterOptions>(o =>
            {
                o.GrainCallTimeout = TimeSpan.FromHours(1);
                o.GrainRetryDeadline = TimeSpan.FromHours(1);
                // Generous on a loaded machine: a slot another silo gives back arrives within it. Refusals at a real limit
                // wait it out, so the tests that expect them stay short by making few.
                o.SlotWait = TimeSpan.FromSeconds(1);
            });
            silo.AddOutgoingGrainCallFilter(context =>
            {
                if (context.InterfaceName.Contains("IProviderGrain", StringComparison.Ordinal))
                {
                    ProviderGrainCalls.AddOrUpdate(context.MethodName, 1, (_, n) => n + 1);
                }

                return context.Invoke();
            });
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Gates = Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<ProviderGate>()).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ProviderClusterCollection : ICollectionFixture<ProviderClusterFixture>
{
    public const string Name = "provider-cluster";
}
