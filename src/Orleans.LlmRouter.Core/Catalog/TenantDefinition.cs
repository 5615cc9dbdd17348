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

    /// <summary>The tenant's response-cache settings (YAML <c>cache:</c>); null when it set none.</summary>
    public CacheSettings? Cache { get; init; }

    /// <summary>The tenant's projects by id.</summary>
    public IReadOnlyDictionary<string, LevelDefinition> Projects { get; init; } = Empty;

    /// <summary>The tenant's keys with ids (managed keys, and YAML keys given with an id) by id.</summary>
    public IReadOnlyDictionary<string, KeyDefinition> Keys { get; init; } = EmptyKeys;

    /// <summary>The end users with budgets or limits of their own, by end-user id.</summary>
    public IReadOnlyDictionary<string, LevelDefinition> EndUsers { get; init; } = Empty;

    private static readonly IReadOnlyDictionary<string, LevelDefinition> Empty = new Dictionary<string, LevelDefinition>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<string, KeyDefinition> EmptyKeys = new Dictionary<string, KeyDefinition>(StringComparer.Ordinal);

    /// <summary>The levels below the tenant a call with these ids passes (only those defined), project first.</summary>
    public IEnumerable<LevelDefinition> LevelsOf(string? projectId, string? keyId, string? endUser)
    {
        if (projectId is not null && Projects.TryGetValue(projectId, out var project))
        {
            yield return project;
        }

        if (keyId is not null && Keys.TryGetValue(keyId, out var key))
        {
            yield return key.Level;
        }

        if (endUser is not null && EndUsers.TryGetValue(endUser, out var user))
        {
            yield return user;
        }
    }

    public bool MayUseModel(string model) => AllowedModels.Count == 0 || AllowedModels.Contains(model);

    public bool MayUseAction(string action) => AllowedActions.Count == 0 || AllowedActions.Contains(action);
}
