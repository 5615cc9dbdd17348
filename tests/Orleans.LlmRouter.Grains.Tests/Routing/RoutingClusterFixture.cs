using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.MockUpstream;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Routing;

/// <summary>Two silos routing over simulated providers with distinct priorities, prices, windows and capabilities.</summary>
public sealed class RoutingClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: sa, type: simulated, priority: 1, retry: { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 } }
          - { id: sb, type: simulated, priority: 2, retry: { max_attempts: 3, base_delay_ms: 0, max_delay_ms: 0 } }
          - { id: off, type: simulated, priority: 0, enabled: false }
        models:
          - { name: a-small, provider: sa, provider_model: a-small-1, capabilities: [chat, structured_output, tools, streaming], context_window: 2000, max_output_tokens: 200, pricing: { input: 1, output: 2 } }
          - { name: a-large, provider: sa, provider_model: a-large-1, capabilities: [chat, structured_output, streaming, long_context, vision], context_window: 1000000, max_output_tokens: 500, pricing: { input: 10, output: 20 } }
          - { name: b-small, provider: sb, provider_model: b-small-1, capabilities: [chat, structured_output, tools, streaming], context_window: 2000, max_output_tokens: 200, pricing: { input: 0.5, output: 1 } }
          - { name: b-vision, provider: sb, provider_model: b-vision-1, capabilities: [chat, vision, structured_output, streaming], context_window: 8000, max_output_tokens: 200, pricing: { input: 3, output: 6 } }
          - { name: o-mini, provider: sa, provider_model: gpt-4o-mini, capabilities: [chat], context_window: 128000, max_output_tokens: 100, pricing: { input: 100, output: 200 } }
          - { name: off-cheap, provider: off, provider_model: off-1, capabilities: [chat], context_window: 2000, max_output_tokens: 200, pricing: { input: 0, output: 0 } }
        actions:
          - name: work
            requires: [chat]
            strategies:
              default: [a-small, b-small]
              quality: [a-large, b-vision]
              budget: [off-cheap, b-small]
          - name: long
            requires: [chat]
            strategies:
              default: [a-small, b-small, a-large]
        tenants:
          - { id: r }
        """;

    /// <summary>A provider on the wire-faithful mock upstream (real HTTP on loopback through the OpenAI-compatible adapter).</summary>
    public const string MockYaml = """
        providers:
          - { id: up, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_ROUTING_MOCK_KEY, timeout_seconds: 10, priority: 3, retry: { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 } }
          - { id: upc, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_ROUTING_MOCK_KEY, timeout_seconds: 30, stream_idle_timeout_seconds: 15, priority: 3,
              limits: { max_concurrency: 2 }, retry: { max_attempts: 1 }, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 100, window_seconds: 60, break_seconds: 30 } }
          - { id: ups, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_ROUTING_MOCK_KEY, timeout_seconds: 2, stream_idle_timeout_seconds: 1, priority: 3,
              limits: { max_concurrency: 2 }, retry: { max_attempts: 1 }, circuit_breaker: { failure_ratio: 0.5, minimum_calls: 100, window_seconds: 60, break_seconds: 30 } }
        models:
          - { name: m-upc, provider: upc, provider_model: mock-small, capabilities: [chat, streaming], context_window: 8000, max_output_tokens: 200, pricing: { input: 2, output: 4 } }
          - { name: m-ups, provider: ups, provider_model: mock-small, capabilities: [chat, streaming], context_window: 8000, max_output_tokens: 200, pricing: { input: 2, output: 4 } }
          - { name: m-up, provider: up, provider_model: mock-small, capabilities: [chat, structured_output, tools, streaming], context_window: 8000, max_output_tokens: 200, pricing: { input: 2, output: 4 } }
        actions:
          - name: upstream
            requires: [chat]
            strategies:
              default: [m-up, b-small]
          - name: upguard
            requires: [chat]
            strategies:
              default: [m-upc, b-small]
          - name: upstall
            requires: [chat]
            strategies:
              default: [m-ups, b-small]
        tenants:
          - { id: faults }
        """;

    public const string MockKey = "sk-routing-mock-key-91a";

    public ModelCatalog Catalog { get; private set; } = null!;

    public MockUpstreamServer Mock { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Mock = await MockUpstreamServer.StartAsync();
        Environment.SetEnvironmentVariable("LLMROUTER_ROUTING_MOCK_KEY", MockKey);
        Catalog = new CatalogLoader(environment: v => v == "LLMROUTER_ROUTING_MOCK_KEY" ? MockKey : null)
            .Load([("routing.yaml", Yaml), ("mock.yaml", MockYaml.Replace("{MOCK}", Mock.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal))]).Catalog;
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton(new RouterClock(new FakeTimeProvider(DateTimeOffset.UtcNow)));
            silo.Services.AddLlmRouterGrains(Catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Mock.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class RoutingClusterCollection : ICollectionFixture<RoutingClusterFixture>
{
    public const string Name = "routing-cluster";
}
