namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// A level below a tenant a call passes: a project, a key or an end user, with what it may spend (budgets, per-minute
/// limits) and use (models, actions). What it may use is already narrowed to what its parents allow.
/// </summary>
internal sealed record LevelDefinition(
    string Level,
    string Id,
    BudgetLimits Budgets,
    ProviderLimits Limits,
    IReadOnlySet<string> AllowedModels,
    IReadOnlySet<string> AllowedActions)
{
    /// <summary>The soft-alert threshold; null for the tenant's.</summary>
    public decimal? SoftAlertThreshold { get; init; }

    /// <summary>Where the level's soft alerts are POSTed; null for the tenant's webhook.</summary>
    public string? AlertWebhook { get; init; }

    /// <summary>The key of the level's counters in its tenant's budget grain (e.g. <c>project:p1</c>).</summary>
    public string CounterKey => CounterKeyOf(Level, Id);

    public bool MayUseModel(string model) => AllowedModels.Count == 0 || AllowedModels.Contains(model);

    public bool MayUseAction(string action) => AllowedActions.Count == 0 || AllowedActions.Contains(action);

    public static string CounterKeyOf(string level, string id) => level + ":" + id;

    /// <summary>The level names (as <c>BudgetLevels</c> in the contracts): a project, a key, an end user.</summary>
    public const string Project = "project", Key = "key", EndUser = "end_user";
}

/// <summary>A tenant key: its id, the hashes that open it (the current secret, and the one before a rotation until its overlap ends), project, expiry and level.</summary>
internal sealed record KeyDefinition(string Id, string Hash, string? ProjectId, DateTimeOffset? ExpiresAt, LevelDefinition Level)
{
    public string? Label { get; init; }

    /// <summary>The hash of the secret before the last rotation; null for none.</summary>
    public string? PreviousHash { get; init; }

    /// <summary>Until when <see cref="PreviousHash"/> opens the key.</summary>
    public DateTimeOffset? PreviousValidUntil { get; init; }

    /// <summary>True when the secret hashed to <paramref name="hash"/> opens the key at <paramref name="now"/>.</summary>
    public bool Opens(string hash, DateTimeOffset now) =>
        (ExpiresAt is null || now < ExpiresAt) && (hash == Hash || (hash == PreviousHash && now < PreviousValidUntil));
}
