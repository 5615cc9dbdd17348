namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// One call as billed: the ledger's row. <see cref="RequestId"/> is unique (a request is billed once);
/// <see cref="TenantSeq"/> is assigned by the tenant's budget grain, increasing per tenant, and is what the grain's
/// persisted counters are positioned by.
/// </summary>
internal sealed record LedgerRecord
{
    public required string RequestId { get; init; }

    public required string TenantId { get; init; }

    public long TenantSeq { get; init; }

    public string? RunId { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string? Action { get; init; }

    public string? Strategy { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public long CachedTokens { get; init; }

    public long ReasoningTokens { get; init; }

    /// <summary>Prompt tokens written to the provider's prompt cache (all TTLs; a subset of <see cref="PromptTokens"/>).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>The part of <see cref="CacheWriteTokens"/> written with a one-hour TTL (Anthropic).</summary>
    public long CacheWrite1hTokens { get; init; }

    /// <summary>True when the provider reported no usage and the gateway counted the tokens itself.</summary>
    public bool UsageEstimated { get; init; }

    public decimal CostUsd { get; init; }

    public double LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public bool Success { get; init; }

    public string? ErrorClass { get; init; }

    public int Attempts { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset CompletedAt { get; init; }

    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Filters of a usage query. All optional but the tenant; the range is [From, To).</summary>
internal sealed record UsageQuery(string TenantId)
{
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Action { get; init; }

    public string? Tag { get; init; }
}

/// <summary>Totals of a set of ledger rows.</summary>
internal sealed record UsageTotals(long Calls, long FailedCalls, long PromptTokens, long CompletionTokens, long CachedTokens, decimal CostUsd)
{
    public static UsageTotals Empty { get; } = new(0, 0, 0, 0, 0, 0m);

    public long TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>Reasoning tokens (part of <see cref="CompletionTokens"/>).</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Prompt tokens written to a provider's prompt cache, all TTLs (part of <see cref="PromptTokens"/>).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>The part of <see cref="CacheWriteTokens"/> written with a one-hour TTL.</summary>
    public long CacheWrite1hTokens { get; init; }

    /// <summary>Calls whose usage the gateway counted itself (the provider reported none).</summary>
    public long EstimatedCalls { get; init; }

    /// <summary>The sum of two totals.</summary>
    public UsageTotals Plus(UsageTotals other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new UsageTotals(Calls + other.Calls, FailedCalls + other.FailedCalls, PromptTokens + other.PromptTokens,
            CompletionTokens + other.CompletionTokens, CachedTokens + other.CachedTokens, CostUsd + other.CostUsd)
        {
            ReasoningTokens = ReasoningTokens + other.ReasoningTokens,
            CacheWriteTokens = CacheWriteTokens + other.CacheWriteTokens,
            CacheWrite1hTokens = CacheWrite1hTokens + other.CacheWrite1hTokens,
            EstimatedCalls = EstimatedCalls + other.EstimatedCalls,
        };
    }
}

/// <summary>Usage totals per UTC day.</summary>
internal sealed record UsageDay(DateOnly Day, UsageTotals Totals);

/// <summary>Totals and a per-day breakdown for a query.</summary>
internal sealed record UsageReport(UsageQuery Query, UsageTotals Totals, IReadOnlyList<UsageDay> Days);

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

    /// <summary>A tenant's records with <see cref="LedgerRecord.TenantSeq"/> above <paramref name="afterTenantSeq"/>, in order.</summary>
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
}

/// <summary>A time window of an audit: completed in [<see cref="From"/>, <see cref="To"/>), either bound open.</summary>
internal sealed record BalanceWindow(string Window, string? Key, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>Rows, tokens (prompt + completion) and cost in one window or run.</summary>
internal sealed record WindowBalance(string Window, string? Key, long Rows, long Tokens, decimal CostUsd);

/// <summary>A tenant's ledger per window, per run, and how many of its rows are quarantined or still spooled.</summary>
internal sealed record LedgerBalance(string TenantId, IReadOnlyList<WindowBalance> Windows, IReadOnlyList<WindowBalance> Runs, long QuarantinedRows, long SpooledRows);

/// <summary>One ledger row the store refused for its data, kept aside with the reason.</summary>
/// <param name="RequestId">The row's request id (NUL characters shown as U+FFFD).</param>
/// <param name="TenantId">The row's tenant (NUL characters shown as U+FFFD).</param>
/// <param name="Record">The row as it was settled, or null when it could not be read back.</param>
/// <param name="SqlState">The PostgreSQL error code (e.g. 22021), when the store gave one.</param>
/// <param name="Error">The store's error message (never the row's values).</param>
/// <param name="QuarantinedAt">When the row was set aside.</param>
/// <param name="Location"><c>postgres</c> (table <c>llm_calls_quarantine</c>) or <c>file</c> (a local quarantine file, when the table was unavailable too).</param>
internal sealed record QuarantinedRecord(string RequestId, string TenantId, LedgerRecord? Record, string? SqlState, string Error, DateTimeOffset QuarantinedAt, string Location);

/// <summary>Quarantined rows: how many in all, how many this process set aside since it started, and the newest ones.</summary>
internal sealed record QuarantineReport(long Count, long QuarantinedByThisProcess, IReadOnlyList<QuarantinedRecord> Rows);
