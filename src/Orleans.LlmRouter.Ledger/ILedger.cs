namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// The append-only ledger. Appends are group-committed (many calls, one round-trip) and durable when the returned
/// task completes. Reads serve catch-up and usage queries, never the request path.
/// </summary>
internal interface ILedger
{
    /// <summary>
    /// Durably appends a record. Returns false when its request id was already recorded (billed once). A record the
    /// store refuses for its data (not an outage) is quarantined: kept durably aside, logged and counted, and it
    /// counts as recorded — true the first time, false for its request id after that — because the call it bills was
    /// delivered: it must be neither lost nor billed twice.
    /// </summary>
    ValueTask<bool> AppendAsync(LedgerRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Fences off every earlier writer of a tenant's rows and returns the new epoch (greater than any before): from now
    /// on an append whose <see cref="LedgerRecord.Epoch"/> is older throws <see cref="LedgerFencedException"/> and
    /// stores nothing. An append already under way when the fence is raised finishes first. A budget grain's activation
    /// raises the fence before it catches up, so a row of an older activation (still alive for a moment while the
    /// grain moves between silos) is either in the catch-up read or refused: never counted by neither.
    /// </summary>
    Task<long> FenceAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A tenant's records with <see cref="LedgerRecord.TenantSeq"/> above <paramref name="afterTenantSeq"/>, in order. A
    /// read from before every position (a negative <paramref name="afterTenantSeq"/>: a budget grain's full recount)
    /// starts with the rows retention dropped, as one record per rollup (<see cref="LedgerRecord.RollupKind"/>, position
    /// 0), so the sums of tokens and cost it yields are those of every row ever written.
    /// </summary>
    IAsyncEnumerable<LedgerRecord> ReadAfterAsync(string tenantId, long afterTenantSeq, CancellationToken cancellationToken = default);

    /// <summary>The records matching a query, oldest first (for CSV export).</summary>
    IAsyncEnumerable<LedgerRecord> QueryAsync(UsageQuery query, CancellationToken cancellationToken = default);

    /// <summary>Totals and per-day breakdown for a query.</summary>
    Task<UsageReport> ReportAsync(UsageQuery query, CancellationToken cancellationToken = default);

    /// <summary>True when the backing store answers (for readiness).</summary>
    Task<bool> IsReachableAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// What the ledger holds for a tenant in each window (an audit's ledger side): rows in the table, rows quarantined
    /// (<see cref="QuarantineAsync"/>) and rows still waiting in this process's spool, each request id once.
    /// </summary>
    Task<LedgerBalance> BalanceAsync(string tenantId, IReadOnlyList<BalanceWindow> windows, CancellationToken cancellationToken = default);

    /// <summary>Rows the store refused for their data and that are kept aside instead, newest first (at most <paramref name="limit"/>).</summary>
    Task<QuarantineReport> QuarantineAsync(int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>A bounded page of calls, newest first (<see cref="CallLogQuery"/>: keyset-paginated, across tenants when none is named).</summary>
    Task<IReadOnlyList<LedgerRecord>> PageAsync(CallLogQuery query, CancellationToken cancellationToken = default);

    /// <summary>Aggregates over a range (calls, failures, spend, latency percentiles, per-bucket series, top tenants and models).</summary>
    Task<LedgerStats> StatsAsync(LedgerStatsQuery query, CancellationToken cancellationToken = default);

    /// <summary>A tenant's spend per day and model over [from, to).</summary>
    Task<IReadOnlyList<DayModelSpend>> SpendByDayAndModelAsync(string tenantId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);
}
