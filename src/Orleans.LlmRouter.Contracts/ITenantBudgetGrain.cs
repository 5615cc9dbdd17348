namespace Orleans.LlmRouter.Contracts;

/// <summary>What a call used and how it went; becomes one ledger row (request id unique).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.UsageRecord")]
public sealed record UsageRecord(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Provider,
    [property: Id(2)] string Model,
    [property: Id(3)] TokenUsage Usage,
    [property: Id(4)] decimal CostUsd,
    [property: Id(5)] bool Success)
{
    [Id(6)] public string? RunId { get; init; }

    [Id(7)] public IReadOnlyList<string> Tags { get; init; } = [];

    [Id(8)] public string? Action { get; init; }

    [Id(9)] public string? Strategy { get; init; }

    [Id(10)] public double LatencyMs { get; init; }

    [Id(11)] public double? TimeToFirstTokenMs { get; init; }

    [Id(12)] public string? ErrorClass { get; init; }

    [Id(13)] public int Attempts { get; init; }

    [Id(14)] public DateTimeOffset StartedAt { get; init; }

    [Id(15)] public DateTimeOffset CompletedAt { get; init; }

    /// <summary>The deployment called, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(16)] public string? Deployment { get; init; }
}

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
    public long? RemainingTokens => TokenLimit is { } l ? Math.Max(0, l - Tokens) : null;

    public decimal? RemainingUsd => CostLimitUsd is { } l ? Math.Max(0, l - CostUsd) : null;
}

/// <summary>A tenant's counters per window, plus reservations in flight.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantUsage")]
public sealed record TenantUsage(
    [property: Id(0)] string TenantId,
    [property: Id(1)] IReadOnlyList<WindowUsage> Windows,
    [property: Id(2)] int ReservationsInFlight,
    [property: Id(3)] long ReservedTokens,
    [property: Id(4)] decimal ReservedUsd,
    [property: Id(5)] long LedgerPosition);

/// <summary>
/// One per tenant (key: <c>t:&lt;tenant id&gt;</c>, see <see cref="TenantBudgetKeys"/>). The single writer of the tenant's
/// counters: reserves the worst case before a call, settles the actual usage after it (writing the ledger row
/// durably first) or releases. Counters are a durable cache of the ledger.
/// </summary>
[Alias("llmrouter.ITenantBudgetGrain")]
public interface ITenantBudgetGrain : IGrainWithStringKey
{
    /// <summary>Reserves tokens and cost for a call.</summary>
    /// <exception cref="TokenBudgetExceededException">A token limit would be exceeded.</exception>
    /// <exception cref="CostBudgetExceededException">A USD limit would be exceeded.</exception>
    /// <param name="reservationId">Unique per candidate of a request; settle or release it later.</param>
    /// <param name="tokens">Estimated prompt tokens plus the output tokens reserved.</param>
    /// <param name="costUsd">The worst-case cost of those tokens on the candidate model.</param>
    /// <param name="runId">The caller's run, for per-run budgets.</param>
    /// <param name="countsRequest">True on the first reservation of a request: it counts against the tenant's rpm/tpm.</param>
    /// <exception cref="TenantRateLimitedException">The tenant's rpm or tpm for this minute is spent.</exception>
    /// <exception cref="TenantNotFoundException">The tenant does not exist.</exception>
    /// <remarks>
    /// A reservation is a lease: it expires after <c>LlmRouter:Budgets:ReservationLease</c> (default 60 s) unless its holder
    /// renews it with <see cref="RenewAsync"/>, so the reservations of a silo that died come back by themselves.
    /// </remarks>
    [Alias("reserve")]
    Task ReserveAsync(string reservationId, long tokens, decimal costUsd, string? runId, bool countsRequest = false);

    /// <summary>
    /// Ends a call: drops its reservation (if any), appends its ledger row durably, adds its usage.
    /// Returns false when the request id was already billed (nothing is added twice).
    /// </summary>
    [Alias("settle")]
    Task<bool> SettleAsync(string? reservationId, UsageRecord record);

    /// <summary>Drops a reservation without recording usage (the candidate was not used).</summary>
    [Alias("release")]
    Task ReleaseAsync(string reservationId);

    /// <summary>Extends the leases of reservations still in flight (the router renews those it holds); returns how many were held.</summary>
    [Alias("renew")]
    Task<int> RenewAsync(IReadOnlyList<string> reservationIds);

    [Alias("usage")]
    Task<TenantUsage> GetUsageAsync();
}

/// <summary>Key conventions: prefixed so ids that look hexadecimal do not collide in storage.</summary>
public static class TenantBudgetKeys
{
    public static string For(string tenantId) => "t:" + tenantId;

    public static string TenantOf(string key) => key.StartsWith("t:", StringComparison.Ordinal) ? key[2..] : key;
}

/// <summary>The tenant's own rate limit (requests or tokens per minute) is spent until <see cref="RetryAfterSeconds"/>.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRateLimitedException")]
public sealed class TenantRateLimitedException : LlmRouterException
{
    public TenantRateLimitedException()
    {
    }

    public TenantRateLimitedException(string message)
        : base(message)
    {
    }

    public TenantRateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>rpm or tpm.</summary>
    [Id(1)] public string Limit { get; init; } = string.Empty;

    [Id(2)] public int RetryAfterSeconds { get; init; }
}

/// <summary>Base of budget rejections: the window, usage, limit and the reservation that did not fit.</summary>
[GenerateSerializer, Alias("llmrouter.BudgetExceededException")]
public abstract class BudgetExceededException : LlmRouterException
{
    protected BudgetExceededException()
    {
    }

    protected BudgetExceededException(string message)
        : base(message)
    {
    }

    protected BudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>lifetime, daily, monthly or run.</summary>
    [Id(1)] public string Window { get; init; } = string.Empty;
}

/// <summary>A token limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.TokenBudgetExceededException")]
public sealed class TokenBudgetExceededException : BudgetExceededException
{
    public TokenBudgetExceededException()
    {
    }

    public TokenBudgetExceededException(string message)
        : base(message)
    {
    }

    public TokenBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [Id(0)] public long Used { get; init; }

    [Id(1)] public long InFlight { get; init; }

    [Id(2)] public long Limit { get; init; }

    [Id(3)] public long Requested { get; init; }
}

/// <summary>A USD limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.CostBudgetExceededException")]
public sealed class CostBudgetExceededException : BudgetExceededException
{
    public CostBudgetExceededException()
    {
    }

    public CostBudgetExceededException(string message)
        : base(message)
    {
    }

    public CostBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [Id(0)] public decimal UsedUsd { get; init; }

    [Id(1)] public decimal InFlightUsd { get; init; }

    [Id(2)] public decimal LimitUsd { get; init; }

    [Id(3)] public decimal RequestedUsd { get; init; }
}
