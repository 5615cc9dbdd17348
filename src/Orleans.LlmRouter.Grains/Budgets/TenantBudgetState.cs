namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// Persisted part of a tenant budget: counters over exactly the ledger rows with tenant sequence ≤ <see cref="Position"/>.
/// On activation the rows after it are read back from the ledger, so the counters always equal the ledger.
/// </summary>
[GenerateSerializer, Alias("llmrouter.TenantBudgetState")]
internal sealed class TenantBudgetState
{
    [Id(0)] public BudgetCountersState Counters { get; set; } = new();

    [Id(1)] public long Position { get; set; }

    [Id(2)] public long NextSeq { get; set; } = 1;

    /// <summary>
    /// Set when two activations of the grain wrote this state (a duplicate activation while the grain directory moved
    /// off a lost silo): each counted only its own settles and their sequence numbers may overlap, so the position no
    /// longer tells which rows the counters hold. The next activation recounts every ledger row of the tenant.
    /// </summary>
    [Id(3)] public bool RecountPending { get; set; }

    /// <summary>The counters of the tenant's projects, keys and budgeted end users, by counter key (e.g. <c>project:p1</c>).</summary>
    [Id(4)] public Dictionary<string, LevelState> Levels { get; set; } = new(StringComparer.Ordinal);
}
