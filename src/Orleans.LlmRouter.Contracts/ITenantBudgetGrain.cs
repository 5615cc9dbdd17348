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
    /// <summary>The caller's run (<see cref="RoutingContext.RunId"/>), counted against per-run budgets; null for none.</summary>
    [Id(6)] public string? RunId { get; init; }

    /// <summary>The caller's tags (<see cref="RoutingContext.Tags"/>), stored with the row.</summary>
    [Id(7)] public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The catalog action the request was routed through; null when it named a model.</summary>
    [Id(8)] public string? Action { get; init; }

    /// <summary>The action's strategy as the caller gave it; null means <c>default</c>.</summary>
    [Id(9)] public string? Strategy { get; init; }

    /// <summary>Milliseconds from the start of routing to the end of the request, every attempt included.</summary>
    [Id(10)] public double LatencyMs { get; init; }

    /// <summary>Milliseconds until the first streamed chunk; null for a call that did not stream one.</summary>
    [Id(11)] public double? TimeToFirstTokenMs { get; init; }

    /// <summary>snake_case error class of a failed call (e.g. <c>rate_limited</c>); null on success.</summary>
    [Id(12)] public string? ErrorClass { get; init; }

    /// <summary>How many tries the request made, across models.</summary>
    [Id(13)] public int Attempts { get; init; }

    /// <summary>When routing of the request began.</summary>
    [Id(14)] public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the request ended; this instant places the row in the budget windows.</summary>
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
    /// <summary>Tokens left before <see cref="TokenLimit"/> (never below 0, reservations not subtracted); null when the window has no token limit.</summary>
    public long? RemainingTokens => TokenLimit is { } l ? Math.Max(0, l - Tokens) : null;

    /// <summary>USD left before <see cref="CostLimitUsd"/> (never below 0, reservations not subtracted); null when the window has no USD limit.</summary>
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

    /// <summary>Returns the tenant's usage and remaining budget per window, and the reservations in flight.</summary>
    [Alias("usage")]
    Task<TenantUsage> GetUsageAsync();
}

/// <summary>Key conventions: prefixed so ids that look hexadecimal do not collide in storage.</summary>
public static class TenantBudgetKeys
{
    /// <summary>The budget grain key of a tenant: <c>t:</c> followed by the tenant id.</summary>
    public static string For(string tenantId) => "t:" + tenantId;

    /// <summary>The tenant id of a budget grain key; a key without the <c>t:</c> prefix is returned as it is.</summary>
    public static string TenantOf(string key) => key.StartsWith("t:", StringComparison.Ordinal) ? key[2..] : key;
}

/// <summary>The tenant's own rate limit (requests or tokens per minute) is spent until <see cref="RetryAfterSeconds"/>.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRateLimitedException")]
public sealed class TenantRateLimitedException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TenantRateLimitedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TenantRateLimitedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TenantRateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant whose limit is spent.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>rpm or tpm.</summary>
    [Id(1)] public string Limit { get; init; } = string.Empty;

    /// <summary>Seconds until the current minute ends and the limit refills (at least 1).</summary>
    [Id(2)] public int RetryAfterSeconds { get; init; }
}

/// <summary>Base of budget rejections: the window, usage, limit and the reservation that did not fit.</summary>
[GenerateSerializer, Alias("llmrouter.BudgetExceededException")]
public abstract class BudgetExceededException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    protected BudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    protected BudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    protected BudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant whose budget the call would exceed.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>lifetime, daily, monthly or run.</summary>
    [Id(1)] public string Window { get; init; } = string.Empty;
}

/// <summary>A token limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.TokenBudgetExceededException")]
public sealed class TokenBudgetExceededException : BudgetExceededException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TokenBudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TokenBudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TokenBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Tokens already used in the window.</summary>
    [Id(0)] public long Used { get; init; }

    /// <summary>Tokens held by reservations of calls still in flight.</summary>
    [Id(1)] public long InFlight { get; init; }

    /// <summary>The window's token limit.</summary>
    [Id(2)] public long Limit { get; init; }

    /// <summary>Tokens this call asked to reserve.</summary>
    [Id(3)] public long Requested { get; init; }
}

/// <summary>A USD limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.CostBudgetExceededException")]
public sealed class CostBudgetExceededException : BudgetExceededException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CostBudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CostBudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CostBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>USD already spent in the window.</summary>
    [Id(0)] public decimal UsedUsd { get; init; }

    /// <summary>USD held by reservations of calls still in flight.</summary>
    [Id(1)] public decimal InFlightUsd { get; init; }

    /// <summary>The window's USD limit.</summary>
    [Id(2)] public decimal LimitUsd { get; init; }

    /// <summary>USD this call asked to reserve (its worst-case cost).</summary>
    [Id(3)] public decimal RequestedUsd { get; init; }
}
