namespace Orleans.LlmRouter.Contracts;

/// <summary>The result of one upstream request, reported by the silo that made it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderOutcome")]
public sealed record ProviderOutcome(
    [property: Id(0)] bool Success,
    [property: Id(1)] ProviderErrorClass? ErrorClass,
    [property: Id(2)] bool CountsAsFailure,
    [property: Id(3)] double LatencyMs,
    [property: Id(4)] bool WasProbe,
    [property: Id(5)] long ExtraTokens,
    [property: Id(6)] TimeSpan? RetryAfter)
{
    /// <summary>
    /// True for an outcome that gives no verdict on the provider: a permit handed back unused
    /// (<see cref="ProviderErrorClass.NotSent"/>) or a call its caller cancelled before an answer
    /// (<see cref="ProviderErrorClass.Cancelled"/>); a probe is released.
    /// </summary>
    public bool IsNoVerdict => ErrorClass is ProviderErrorClass.NotSent or ProviderErrorClass.Cancelled;
}
