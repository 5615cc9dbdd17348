namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>The JSON body POSTed to a tenant's alert webhook.</summary>
internal sealed record SoftAlert(string Tenant, string Window, string Unit, decimal Used, decimal Limit, decimal Threshold, DateTimeOffset At)
{
    /// <summary>The level that crossed its threshold: <c>tenant</c>, <c>project</c>, <c>key</c> or <c>end_user</c>.</summary>
    public string Level { get; init; } = Contracts.BudgetLevels.Tenant;

    /// <summary>The id of that level.</summary>
    public string? LevelId { get; init; }
}
