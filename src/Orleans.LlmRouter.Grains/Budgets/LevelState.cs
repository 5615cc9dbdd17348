namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Persisted counters of one level below the tenant (a project, key or end user), positioned like the tenant's.</summary>
[GenerateSerializer, Alias("llmrouter.LevelState")]
internal sealed class LevelState
{
    [Id(0)] public BudgetCountersState Counters { get; set; } = new();

    /// <summary>The first tenant sequence number the level counts: rows before it are not the level's.</summary>
    [Id(1)] public long FromSeq { get; set; }

    [Id(2)] public DateTimeOffset? LastUsedAt { get; set; }
}
