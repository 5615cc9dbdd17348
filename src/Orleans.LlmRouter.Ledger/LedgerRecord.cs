namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// One call as billed: the ledger's row. <see cref="RequestId"/> is unique (a request is billed once);
/// <see cref="TenantSeq"/> is assigned by the tenant's budget grain, increasing per tenant, and is what the grain's
/// persisted counters are positioned by.
/// </summary>
public sealed record LedgerRecord
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
public sealed record UsageQuery(string TenantId)
{
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Action { get; init; }

    public string? Tag { get; init; }
}

/// <summary>Totals of a set of ledger rows.</summary>
public sealed record UsageTotals(long Calls, long FailedCalls, long PromptTokens, long CompletionTokens, long CachedTokens, decimal CostUsd)
{
    public static UsageTotals Empty { get; } = new(0, 0, 0, 0, 0, 0m);

    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Usage totals per UTC day.</summary>
public sealed record UsageDay(DateOnly Day, UsageTotals Totals);

/// <summary>Totals and a per-day breakdown for a query.</summary>
public sealed record UsageReport(UsageQuery Query, UsageTotals Totals, IReadOnlyList<UsageDay> Days);

/// <summary>
/// The append-only ledger. Appends are group-committed (many calls, one round-trip) and durable when the returned
/// task completes. Reads serve catch-up and usage queries, never the request path.
/// </summary>
public interface ILedger
{
    /// <summary>Durably appends a record. Returns false when its request id was already recorded (billed once).</summary>
    ValueTask<bool> AppendAsync(LedgerRecord record, CancellationToken cancellationToken = default);

    /// <summary>A tenant's records with <see cref="LedgerRecord.TenantSeq"/> above <paramref name="afterTenantSeq"/>, in order.</summary>
    IAsyncEnumerable<LedgerRecord> ReadAfterAsync(string tenantId, long afterTenantSeq, CancellationToken cancellationToken = default);

    /// <summary>The records matching a query, oldest first (for CSV export).</summary>
    IAsyncEnumerable<LedgerRecord> QueryAsync(UsageQuery query, CancellationToken cancellationToken = default);

    /// <summary>Totals and per-day breakdown for a query.</summary>
    Task<UsageReport> ReportAsync(UsageQuery query, CancellationToken cancellationToken = default);

    /// <summary>True when the backing store answers (for readiness).</summary>
    Task<bool> IsReachableAsync(CancellationToken cancellationToken = default);
}
