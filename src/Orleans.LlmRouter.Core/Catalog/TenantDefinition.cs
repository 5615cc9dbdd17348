namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>A tenant: hashed API keys, budgets, limits and what it may use.</summary>
internal sealed record TenantDefinition(
    string Id,
    string? DisplayName,
    IReadOnlyList<string> KeyHashes,
    BudgetLimits Budgets,
    ProviderLimits Limits,
    IReadOnlySet<string> AllowedModels,
    IReadOnlySet<string> AllowedActions,
    decimal SoftAlertThreshold,
    string TimeZone,
    SourceLocation Location)
{
    /// <summary>Where soft alerts are POSTed (JSON), in addition to the log line; null for log only.</summary>
    public string? AlertWebhook { get; init; }

    /// <summary>The MCP servers and tools the tenant may use through <c>/mcp</c> (YAML <c>mcp:</c>); everything by default.</summary>
    public Mcp.McpAllowList Mcp { get; init; } = Core.Mcp.McpAllowList.All;

    public bool MayUseModel(string model) => AllowedModels.Count == 0 || AllowedModels.Contains(model);

    public bool MayUseAction(string action) => AllowedActions.Count == 0 || AllowedActions.Contains(action);
}
