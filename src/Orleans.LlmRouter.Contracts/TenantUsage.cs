namespace Orleans.LlmRouter.Contracts;

/// <summary>A tenant's counters per window, plus reservations in flight.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantUsage")]
public sealed record TenantUsage(
    [property: Id(0)] string TenantId,
    [property: Id(1)] IReadOnlyList<WindowUsage> Windows,
    [property: Id(2)] int ReservationsInFlight,
    [property: Id(3)] long ReservedTokens,
    [property: Id(4)] decimal ReservedUsd,
    [property: Id(5)] long LedgerPosition)
{
    /// <summary>The counters of the tenant's projects, keys and budgeted end users.</summary>
    [Id(6)] public IReadOnlyList<LevelUsage> Levels { get; init; } = [];
}
