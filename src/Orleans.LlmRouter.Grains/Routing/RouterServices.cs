using System.Collections.Concurrent;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Resilience;
using Polly;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Per-silo services the router grain uses: the catalog, the planner, adapters and retry pipelines.</summary>
public sealed class RouterServices
{
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _pipelines = new(StringComparer.Ordinal);

    public RouterServices(ModelCatalog catalog, ProviderRegistry providers, TimeProvider time)
    {
        Catalog = catalog;
        Providers = providers;
        Time = time;
        Planner = new RoutePlanner(catalog);
    }

    public ModelCatalog Catalog { get; }

    public RoutePlanner Planner { get; }

    public ProviderRegistry Providers { get; }

    public TimeProvider Time { get; }

    public ResiliencePipeline RetryPipelineFor(ProviderDefinition provider) =>
        _pipelines.GetOrAdd(provider.Id, static (_, state) => RetryPipelines.Create(state.provider.Retry, state.time), (provider, time: Time));
}
