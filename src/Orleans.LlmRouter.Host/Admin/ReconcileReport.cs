namespace Orleans.LlmRouter.Host.Admin;

/// <summary>An audit of one tenant: each window's ledger value, counter value and difference, and the reservations in flight.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="Consistent">True when every compared window has zero difference.</param>
/// <param name="TimeZone">The tenant's time zone, which its daily, weekly and monthly windows follow.</param>
/// <param name="Windows">lifetime, daily, weekly, monthly (BudgetWindows.All), then one line per run.</param>
/// <param name="InFlight">Reservations held by calls in flight (zero once every call has ended).</param>
/// <param name="QuarantinedRows">The tenant's ledger rows in quarantine (included in the ledger values).</param>
/// <param name="SpooledRows">The tenant's rows still in this process's spool (included in the ledger values).</param>
/// <param name="LedgerPosition">The counters' persisted ledger position.</param>
internal sealed record ReconcileReport(string TenantId, bool Consistent, string TimeZone, IReadOnlyList<ReconcileWindow> Windows, ReconcileInFlight InFlight, long QuarantinedRows, long SpooledRows, long LedgerPosition)
{
    /// <summary>The same audit for each project, key and budgeted end user of the tenant (its windows; rows from its <c>FromSeq</c>).</summary>
    public IReadOnlyList<ReconcileLevel> Levels { get; init; } = [];
}

/// <summary>The audit of one level below a tenant: each window's ledger sum (rows of the level from <paramref name="FromSeq"/>) against its counters.</summary>
internal sealed record ReconcileLevel(string Level, string Id, bool Consistent, long FromSeq, IReadOnlyList<ReconcileWindow> Windows, ReconcileInFlight InFlight);
