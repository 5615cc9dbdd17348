namespace Orleans.LlmRouter.Contracts;

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
    /// Reserves for a call at the tenant and at every level of <paramref name="path"/> the tenant defines (its project,
    /// key and budgeted end user), all or none: every level's per-minute limits and budgets are checked in one turn
    /// before any is held. A refusal names its level (<see cref="BudgetExceededException.Level"/>,
    /// <see cref="TenantRateLimitedException.Level"/>).
    /// </summary>
    [Alias("reserve-path")]
    Task ReserveAsync(string reservationId, long tokens, decimal costUsd, string? runId, bool countsRequest, BudgetPath path);

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
