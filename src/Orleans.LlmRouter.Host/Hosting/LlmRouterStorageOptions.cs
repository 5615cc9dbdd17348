using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Grain state and the ledger, section <c>LlmRouter</c>: in memory (the embedded default) or on PostgreSQL.
/// </summary>
internal sealed class LlmRouterStorageOptions
{
    /// <summary><c>memory</c> (default; lost on restart) or <c>postgres</c> (grain state and ledger on <see cref="Postgres"/>).</summary>
    public string Storage { get; set; } = "memory";

    /// <summary>An Npgsql connection string; required with <c>Storage=postgres</c> or <c>Clustering=postgres</c>.</summary>
    public string? Postgres { get; set; }

    /// <summary>What the ledger does while PostgreSQL is down: <c>spool</c> (default: to files, replayed later) or <c>fail-closed</c>.</summary>
    public string LedgerOutageMode { get; set; } = "spool";

    /// <summary>Where the ledger spools during an outage; default <c>spool/</c> next to the binary.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Ledger retention: keep raw rows this many months (whole older partitions are dropped; rollups stay). Unset keeps every row.</summary>
    public int? LedgerRetainMonths { get; set; }

    /// <summary>With retention: export each partition as CSV into this directory before it is dropped.</summary>
    public string? LedgerRetentionExportDirectory { get; set; }

    internal bool Durable => Storage.Equals("postgres", StringComparison.OrdinalIgnoreCase);

    internal LedgerOutageMode ParsedOutageMode =>
        Enum.TryParse<LedgerOutageMode>(LedgerOutageMode.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var m) && Enum.IsDefined(m) ? m : Ledger.LedgerOutageMode.Spool;
}
