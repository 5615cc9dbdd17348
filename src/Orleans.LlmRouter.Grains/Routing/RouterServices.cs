using System.Collections.Concurrent;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Resilience;
using Polly;
using Polly.Registry;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Per-silo services the router grain uses: the catalog, the planner, adapters and retry pipelines.</summary>
internal sealed class RouterServices : IDisposable
{
    private readonly ResiliencePipelineRegistry<string> _pipelines;
    private readonly ConcurrentDictionary<string, TokenizerFamily> _families = new(StringComparer.Ordinal);
    private readonly PromptTokenCounter _counter;

    public RouterServices(ModelCatalog catalog, ProviderRegistry providers, ProviderGate gate, TenantDirectory tenants, RouterClock clock, PromptTokenCounter counter)
    {
        _counter = counter;
        Tenants = tenants;
        Catalog = catalog;
        Providers = providers;
        Gate = gate;
        Time = clock.Time;
        Planner = new RoutePlanner(catalog);
        InFlight = new InFlightRequests(Time);
        _pipelines = new ResiliencePipelineRegistry<string>(new ResiliencePipelineRegistryOptions<string> { BuilderComparer = StringComparer.Ordinal, PipelineComparer = StringComparer.Ordinal });
    }

    /// <summary>Requests running on this silo, for cancellation by request id.</summary>
    public InFlightRequests InFlight { get; }

    /// <summary>Silo-local view of tenants (YAML and managed).</summary>
    public TenantDirectory Tenants { get; }

    /// <summary>Silo-local admission against cluster-wide provider state.</summary>
    public ProviderGate Gate { get; }

    public ModelCatalog Catalog { get; }

    public RoutePlanner Planner { get; }

    public ProviderRegistry Providers { get; }

    public TimeProvider Time { get; }

    /// <summary>Prompt tokens as <paramref name="model"/>'s tokenizer family counts them (cached for exact families).</summary>
    public long PromptTokens(ModelDefinition model, IReadOnlyList<PromptPart> messages, string? extra)
    {
        return _counter.Count(FamilyOf(model), messages, extra);
    }

    /// <summary>Tokens of generated text as <paramref name="model"/>'s tokenizer family counts them (no framing).</summary>
    public long CompletionTokens(ModelDefinition model, string text) => _counter.CountText(FamilyOf(model), text);

    private TokenizerFamily FamilyOf(ModelDefinition model) =>
        _families.GetOrAdd(model.Name, static (_, state) => PromptTokenCounter.FamilyOf(state.Providers.TokenizerFamilyOf(state.Catalog.ProviderOf(state.model).Type), state.model.ProviderModel), (model, Catalog, Providers));

    /// <summary>The provider's retry pipeline, built once per provider id by Polly's registry.</summary>
    public ResiliencePipeline RetryPipelineFor(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return _pipelines.GetOrAddPipeline(provider.Id, (builder, _) =>
        {
            builder.TimeProvider = Time;
            RetryPipelines.AddRetry(builder, provider.Retry);
        });
    }

    /// <inheritdoc/>
    public void Dispose() => _pipelines.Dispose();
}
