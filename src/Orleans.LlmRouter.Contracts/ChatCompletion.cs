namespace Orleans.LlmRouter.Contracts;

/// <summary>The result of a routed chat completion.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatCompletion")]
public sealed record ChatCompletion(
    [property: Id(0)] string Id,
    [property: Id(1)] string Model,
    [property: Id(2)] string Provider,
    [property: Id(3)] string ProviderModel,
    [property: Id(4)] RouterMessage Message,
    [property: Id(5)] string FinishReason,
    [property: Id(6)] TokenUsage Usage,
    [property: Id(7)] decimal CostUsd,
    [property: Id(8)] IReadOnlyList<AttemptRecord> Attempts,
    [property: Id(9)] double LatencyMs,
    [property: Id(10)] DateTimeOffset Created)
{
    /// <summary>The deployment that answered, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(11)] public string? Deployment { get; init; }

    /// <summary>How the response cache served the request (<see cref="CacheStatus"/>); null when it was not asked.</summary>
    [Id(12)] public string? Cache { get; init; }

    /// <summary>
    /// On an answer from the cache (hit or coalesced): what the upstream call would have cost, in USD; <see cref="CostUsd"/>
    /// is then what the caller was charged (the tenant's hit price, else 0).
    /// </summary>
    [Id(13)] public decimal SavedUsd { get; init; }
}
