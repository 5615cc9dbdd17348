using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.MockUpstream;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Deployments;

/// <summary>
/// Two silos sharing one fake router clock and seeded randomness, routing models with several deployments to three
/// OpenAI-compatible providers on the wire-faithful mock upstream (real HTTP on loopback). Each deployment calls its
/// own mock model id, so a test can slow or fail one deployment (<see cref="MockUpstreamServer.ModelScenarios"/>).
/// </summary>
public sealed class DeploymentClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: da, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_DEPLOY_MOCK_KEY, timeout_seconds: 10, retry: { max_attempts: 1 } }
          - { id: db, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_DEPLOY_MOCK_KEY, timeout_seconds: 10, retry: { max_attempts: 1 } }
          - { id: dc, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_DEPLOY_MOCK_KEY, timeout_seconds: 10, retry: { max_attempts: 1 } }
        models:
          - name: weighted
            capabilities: [chat, streaming]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: w-a, weight: 1 }
              - { provider: db, provider_model: w-b, weight: 1 }
              - { provider: dc, provider_model: w-c, weight: 2 }
          - name: busy
            balance: least_busy
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: busy-a }
              - { provider: db, provider_model: busy-b }
          - name: fast
            balance: lowest_latency
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: lat-a }
              - { provider: db, provider_model: lat-b }
          - name: sturdy
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: brk-a, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 3, window_seconds: 600, break_seconds: 600 } }
              - { provider: db, provider_model: brk-b, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 3, window_seconds: 600, break_seconds: 600 } }
              - { provider: dc, provider_model: brk-c, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 3, window_seconds: 600, break_seconds: 600 } }
          - name: quota
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: rl-a }
              - { provider: db, provider_model: rl-b }
          - name: cheap
            balance: cheapest
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: ch-a }
              - { provider: db, provider_model: ch-b, pricing: { input: 0.1, output: 0.2 } }
          - name: headroom
            balance: usage_based
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: hr-a, limits: { rpm: 40 } }
              - { provider: db, provider_model: hr-b, limits: { rpm: 40 } }
          - name: spent
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: sp-a, limits: { rpm: 2 } }
              - { provider: db, provider_model: sp-b }
          - name: capped
            capabilities: [chat]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            deployments:
              - { provider: da, provider_model: cap-a, limits: { rpm: 1 } }
              - { provider: db, provider_model: cap-b, limits: { rpm: 1 } }
          - { name: plain-b, provider: db, provider_model: plain-b, capabilities: [chat], context_window: 8000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }
          - { name: backup, provider: dc, provider_model: backup-c, capabilities: [chat], context_window: 8000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }
        actions:
          - name: sturdy-chain
            requires: [chat]
            strategies:
              default: [sturdy, backup]
        tenants:
          - { id: deploy }
        """;

    public const string MockKey = "sk-deploy-mock-key-5c2";

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public ModelCatalog Catalog { get; private set; } = null!;

    public MockUpstreamServer Mock { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    internal IReadOnlyList<ProviderGate> Gates { get; private set; } = [];

    /// <summary>The router grain as the silo <paramref name="silo"/> runs it (a stateless worker is local to its caller's silo).</summary>
    public IRouterGrain Router(int silo) =>
        Cluster.Silos[silo % Cluster.Silos.Count].ServiceProvider.GetRequiredService<IGrainFactory>().GetRouter();

    public async ValueTask InitializeAsync()
    {
        Mock = await MockUpstreamServer.StartAsync(record: false);
        Catalog = new CatalogLoader(environment: v => v == "LLMROUTER_DEPLOY_MOCK_KEY" ? MockKey : null)
            .Load([("deployments.yaml", Yaml.Replace("{MOCK}", Mock.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal))]).Catalog;
        Environment.SetEnvironmentVariable("LLMROUTER_DEPLOY_MOCK_KEY", MockKey);
        var seed = 19;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton(new RouterClock(Clock));
            silo.Services.AddSingleton(RouterRandom.Seeded(Interlocked.Increment(ref seed)));
            silo.Services.AddLlmRouterGrains(Catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Gates = Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<ProviderGate>()).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Mock.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DeploymentClusterCollection : ICollectionFixture<DeploymentClusterFixture>
{
    public const string Name = "deployment-cluster";
}
