namespace Orleans.LlmRouter.Contracts;

/// <summary>Usage and remaining budget of one window.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.WindowUsage")]
public sealed record WindowUsage(
    [property: Id(0)] string Window,
    [property: Id(1)] string? Key,
    [property: Id(2)] long Tokens,
    [property: Id(3)] decimal CostUsd,
    [property: Id(4)] long? TokenLimit,
    [property: Id(5)] decimal? CostLimitUsd)
{
    /// <summary>Tokens left before <see cref="TokenLimit"/> (never below 0, reservations not subtracted); null when the window has no token limit.</summary>
    public long? RemainingTokens => TokenLimit is { } l ? Math.Max(0, l - Tokens) : null;

    /// <summary>USD left before <see cref="CostLimitUsd"/> (never below 0, reservations not subtracted); null when the window has no USD limit.</summary>
    public decimal? RemainingUsd => CostLimitUsd is { } l ? Math.Max(0, l - CostUsd) : null;
}
