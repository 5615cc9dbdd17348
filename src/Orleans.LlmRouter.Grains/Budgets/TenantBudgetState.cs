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
}
