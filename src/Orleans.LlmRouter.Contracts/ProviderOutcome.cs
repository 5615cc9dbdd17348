namespace Orleans.LlmRouter.Contracts;

/// <summary>The result of one upstream request, reported by the silo that made it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderOutcome")]
public sealed record ProviderOutcome(
    [property: Id(0)] bool Success,
    [property: Id(1)] string? ErrorClass,
    [property: Id(2)] bool CountsAsFailure,
    [property: Id(3)] double LatencyMs,
    [property: Id(4)] bool WasProbe,
    [property: Id(5)] long ExtraTokens,
    [property: Id(6)] TimeSpan? RetryAfter)
{
    /// <summary>Error class of a permit handed back unused (another scope refused the call): a probe is released.</summary>
    public const string NotSent = "not_sent";

    /// <summary>Error class of a call its caller cancelled before an answer: no verdict on the provider; a probe is released.</summary>
    public const string Cancelled = "cancelled";
}
