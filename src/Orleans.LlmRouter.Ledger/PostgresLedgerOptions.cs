namespace Orleans.LlmRouter.Ledger;

/// <summary>Settings of <see cref="PostgresLedger"/>.</summary>
internal sealed record PostgresLedgerOptions(string ConnectionString)
{
    public LedgerOutageMode OutageMode { get; init; } = LedgerOutageMode.Spool;

    /// <summary>
    /// Where spooled records wait for PostgreSQL: one file per ledger instance, locked while it lives. In a cluster,
    /// a volume shared by every silo, so a living silo replays the spool of a dead one.
    /// </summary>
    public string SpoolDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "llmrouter-spool");

    /// <summary>Names this instance's spool file; unique per process (default: host, process id and a random suffix).</summary>
    public string? InstanceId { get; init; }

    /// <summary>Most records in one group commit.</summary>
    public int MaxBatch { get; init; } = 512;

    /// <summary>How often the spool (this instance's and those of instances that are gone) is replayed.</summary>
    public TimeSpan ReplayInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Partition maintenance (at start and every <see cref="MaintenanceInterval"/>): the partitions of <c>llm_calls</c>
    /// are created through now plus this much, so an insert never waits for one (a row without a partition would land in
    /// <c>llm_calls_default</c>). Null turns the maintenance off (the documented SQL function does it instead).
    /// </summary>
    public TimeSpan? PartitionsAhead { get; init; } = TimeSpan.FromDays(62);

    /// <summary>How often partitions are created ahead and retention applied.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Retention of raw rows in months (whole partitions older than this many months before the current month's start
    /// are detached and dropped; rollups are kept forever). Null keeps every row.
    /// </summary>
    public int? RetainMonths { get; init; }

    /// <summary>When set, each partition is exported there as CSV (with a header) before it is dropped.</summary>
    public string? RetentionExportDirectory { get; init; }

    /// <summary>The clock of replay intervals and quarantine times.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
