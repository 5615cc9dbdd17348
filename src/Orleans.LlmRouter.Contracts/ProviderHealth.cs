namespace Orleans.LlmRouter.Contracts;

/// <summary>Health of a provider: breaker, counts, latency, current limit usage.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderHealth")]
public sealed record ProviderHealth(
    [property: Id(0)] string ProviderId,
    [property: Id(1)] ProviderCircuitState State,
    [property: Id(2)] bool Disabled,
    [property: Id(3)] DateTimeOffset? OpenUntil,
    [property: Id(4)] DateTimeOffset? PausedUntil,
    [property: Id(5)] long Successes,
    [property: Id(6)] long Failures,
    [property: Id(7)] DateTimeOffset? LastFailureAt,
    [property: Id(8)] string? LastFailureClass,
    [property: Id(9)] double LatencyP50Ms,
    [property: Id(10)] double LatencyP95Ms,
    [property: Id(11)] long RequestsThisMinute,
    [property: Id(12)] long TokensThisMinute,
    [property: Id(13)] int ConcurrencySlotsLeased);
