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

    /// <summary>True for an embeddings request (<see cref="Needs"/> holds <see cref="Capability.Embedding"/>); chat otherwise.</summary>
    public bool IsEmbedding => Needs.Contains(Capability.Embedding);

    /// <summary>The name that selects dynamic routing.</summary>
    public const string Auto = "auto";
}

/// <summary>One candidate model in route order, with whether it may be tried and why.</summary>
internal sealed record RouteCandidate(ModelDefinition Model, bool Eligible, string Reason, long ReservedOutputTokens, decimal EstimatedCostUsd, long EstimatedPromptTokens = 0);

/// <summary>A routing decision: candidates in the order they will be tried (ineligible ones kept, with reasons).</summary>
internal sealed record RoutePlan(IReadOnlyList<RouteCandidate> Candidates, IReadOnlySet<Capability> Required)
{
    public IEnumerable<RouteCandidate> Eligible => Candidates.Where(c => c.Eligible);
}

/// <summary>The routing hints cannot be honoured (unknown model/action/strategy, nothing allowed).</summary>
internal sealed class RoutingException : Exception
{
    public RoutingException()
    {
    }

    public RoutingException(string message)
        : base(message)
    {
    }

    public RoutingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RoutingException(string message, string param, bool notFound)
        : base(message)
    {
        Param = param;
        NotFound = notFound;
    }

    public string? Param { get; }

    public bool NotFound { get; }

    /// <summary>The capabilities an explicit model (or action) lacks for this request, by YAML name; empty otherwise.</summary>
    public IReadOnlyList<string> MissingCapabilities { get; init; } = [];
}
