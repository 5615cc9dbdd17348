using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Client.Mapping;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Client;

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over the router grain's <see cref="IRouterGrain.EmbedAsync"/>:
/// <see cref="EmbeddingGenerationOptions.ModelId"/> names a catalog embedding model or <c>action:&lt;name&gt;</c>; when none
/// is given the router uses its <c>embedding</c> action. Budgets apply and typed errors surface unchanged, as for chat.
/// </summary>
public sealed class LlmRouterEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly IGrainFactory _grains;
    private readonly LlmRouterClientOptions _options;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates a generator that calls the router grain through <paramref name="grains"/>.</summary>
    public LlmRouterEmbeddingGenerator(IGrainFactory grains, LlmRouterClientOptions? options = null)
    {
        _grains = grains ?? throw new ArgumentNullException(nameof(grains));
        _options = options ?? new LlmRouterClientOptions();
        _metadata = new EmbeddingGeneratorMetadata(LlmRouterChatClient.ProviderName, defaultModelId: _options.DefaultEmbeddingModelId);
    }

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var request = new EmbeddingRequest(values.ToArray(), options?.Dimensions);
        var context = RouteMapping.ForEmbedding(options, _options);
        var router = _grains.GetRouter(_options.RouterGrainKey);
        using var cancelWhen = router.CancelWhen(context, cancellationToken);
        var result = await router.EmbedAsync(request, context, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(result.Vectors.Select(v => new Embedding<float>(v) { ModelId = result.Model, CreatedAt = created }))
        {
            Usage = new UsageDetails { InputTokenCount = result.Usage.PromptTokens, TotalTokenCount = result.Usage.TotalTokens },
            AdditionalProperties = new()
            {
                [LlmRouterPropertyNames.Provider] = result.Provider,
                [LlmRouterPropertyNames.CostUsd] = result.CostUsd,
                [LlmRouterPropertyNames.Attempts] = result.Attempts.Count,
            },
        };
        return embeddings;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return _metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The grain factory belongs to the host.
    }
}
