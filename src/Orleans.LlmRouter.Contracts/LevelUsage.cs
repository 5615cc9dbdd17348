namespace Orleans.LlmRouter.Contracts;

/// <summary>The counters of one level below a tenant (a project, key or budgeted end user) per window.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.LevelUsage")]
public sealed record LevelUsage(
    [property: Id(0)] string Level,
    [property: Id(1)] string Id,
    [property: Id(2)] IReadOnlyList<WindowUsage> Windows,
    [property: Id(3)] int ReservationsInFlight,
    [property: Id(4)] long ReservedTokens,
    [property: Id(5)] decimal ReservedUsd)
{
    /// <summary>The tenant sequence number from which the level counts ledger rows (rows before it are not its).</summary>
    [Id(6)] public long FromSeq { get; init; }

    /// <summary>When the level last settled a call; null when it has not.</summary>
    [Id(7)] public DateTimeOffset? LastUsedAt { get; init; }
}
