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

    /// <summary>The clock of replay intervals and quarantine times.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
