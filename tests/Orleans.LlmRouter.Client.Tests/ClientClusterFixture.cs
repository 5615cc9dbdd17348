using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Client.Tests;

/// <summary>
/// Two silos running the router on the simulated provider, one shared in-memory ledger, and a service provider that
/// registers the chat client and the embedding generator the way an app does (the test cluster's client is the
/// <see cref="IGrainFactory"/>, as in a process that runs an Orleans client).
/// </summary>
public sealed class ClientClusterFixture : IAsyncLifetime
{
    public const string DefaultTenant = "acme";

    public const string Yaml = """
        providers:
          - { id: sim, type: simulated, retry: { max_attempts: 1 } }
        models:
          - { name: small, provider: sim, provider_model: small-1, capabilities: [chat, structured_output, tools, streaming], context_window: 100000, max_output_tokens: 500, pricing: { input: 1, output: 2 } }
          - { name: large, provider: sim, provider_model: large-1, capabilities: [chat, vision, structured_output, tools, streaming], context_window: 100000, max_output_tokens: 500, pricing: { input: 10, output: 20 } }
          - { name: pooled, capabilities: [chat, streaming], context_window: 100000, max_output_tokens: 500, pricing: { input: 1, output: 2 },
              deployments: [ { id: pool-a, provider: sim, provider_model: pool-1 } ] }
          - { name: embed, provider: sim, provider_model: embed-1, capabilities: [embedding], context_window: 8000, max_output_tokens: 1, pricing: { input: 0.5, output: 0 } }
        actions:
          - name: chat
            strategies:
              default: [small, large]
              quality: [large]
          - name: embedding
            requires: [embedding]
            strategies:
              default: [embed]
        tenants:
          - { id: acme }
          - { id: tiny, budgets: { tokens: { lifetime: 20 } } }
          - id: levels
            projects: [ { id: app } ]
            end_users: { capped: { budgets: { tokens: { lifetime: 20 } } } }
        """;

    internal InMemoryLedger Ledger { get; } = new();

    public ModelCatalog Catalog { get; } = new CatalogLoader(environment: _ => null).Load([("client.yaml", Yaml)]).Catalog;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>The app's container: <c>AddLlmRouterChatClient(...).UseFunctionInvocation()</c> and the embedding generator.</summary>
    public ServiceProvider Services { get; private set; } = null!;

    /// <summary>The registered chat client (with function invocation).</summary>
    public IChatClient Chat => Services.GetRequiredService<IChatClient>();

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton<ILedger>(Ledger);
            silo.Services.AddLlmRouterGrains(Catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();

        var services = new ServiceCollection();
        services.AddSingleton<IGrainFactory>(Cluster.Client);
        services.AddLlmRouterChatClient(o => o.DefaultTenantId = DefaultTenant).UseFunctionInvocation();
        services.AddLlmRouterEmbeddingGenerator();
        Services = services.BuildServiceProvider();
    }

    /// <summary>A client without middleware, with the given defaults.</summary>
    public LlmRouterChatClient CreateRawClient(Action<LlmRouterClientOptions>? configure = null)
    {
        var options = new LlmRouterClientOptions { DefaultTenantId = DefaultTenant };
        configure?.Invoke(options);
        return new LlmRouterChatClient(Cluster.Client, options);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClientClusterCollection : ICollectionFixture<ClientClusterFixture>
{
    public const string Name = "client-cluster";
}
