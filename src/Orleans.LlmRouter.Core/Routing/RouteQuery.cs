using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Routing;

/// <summary>What a request needs, reduced to what routing decides on.</summary>
internal sealed record RouteQuery
{
    /// <summary>Explicit catalog model, <c>auto</c>, or null when an action routes.</summary>
    public string? Model { get; init; }

    public string? Action { get; init; }

    public string? Strategy { get; init; }

    /// <summary>Capabilities the request itself needs (vision for images, structured_output for a schema, tools).</summary>
    public IReadOnlySet<Capability> Needs { get; init; } = new HashSet<Capability>();

    /// <summary>Model-independent prompt estimate (capability filters such as long context).</summary>
    public long EstimatedPromptTokens { get; init; }

    /// <summary>Prompt tokens as a given model counts them (its tokenizer family); null uses <see cref="EstimatedPromptTokens"/>.</summary>
    public Func<ModelDefinition, long>? PromptTokensFor { get; init; }

    /// <summary>The prompt estimate for <paramref name="model"/>.</summary>
    public long PromptTokens(ModelDefinition model) => PromptTokensFor?.Invoke(model) ?? EstimatedPromptTokens;

    /// <summary>The caller's max output tokens; null means each model's default cap.</summary>
    public int? MaxOutputTokens { get; init; }

    public decimal? MaxCostUsd { get; init; }

    /// <summary>The tenant asking, for allowed-model checks; null skips them.</summary>
    public TenantDefinition? Tenant { get; init; }

    /// <summary>The levels below the tenant the call passes (project, key, end user), each narrowing what it may use.</summary>
    public IReadOnlyList<LevelDefinition> Levels { get; init; } = [];

    /// <summary>The level that does not allow <paramref name="model"/> (<c>tenant</c>, <c>project</c>, <c>key</c>, <c>end user</c>), or null.</summary>
    public string? RefusesModel(string model)
    {
        if (Tenant is { } t && !t.MayUseModel(model))
        {
            return "tenant";
        }

        foreach (var level in Levels)
        {
            if (!level.MayUseModel(model))
            {
                return level.Level.Replace('_', ' ');
            }
        }

        return null;
    }

    /// <summary>The level that does not allow <paramref name="action"/>, or null.</summary>
    public string? RefusesAction(string action)
    {
        if (Tenant is { } t && !t.MayUseAction(action))
        {
            return "tenant";
        }

        foreach (var level in Levels)
        {
            if (!level.MayUseAction(action))
            {
                return level.Level.Replace('_', ' ');
            }
        }

        return null;
    }

    /// <summary>True for an embeddings request (<see cref="Needs"/> holds <see cref="Capability.Embedding"/>); chat otherwise.</summary>
    public bool IsEmbedding => Needs.Contains(Capability.Embedding);

    /// <summary>The name that selects dynamic routing.</summary>
    public const string Auto = "auto";
}
