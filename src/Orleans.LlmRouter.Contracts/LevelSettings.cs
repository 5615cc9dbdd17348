namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// What a level below a tenant (a project, a key, an end user) may spend and use. Each field can only narrow what the
/// parent allows: a limit above the parent's, or a model or action the parent does not allow, is refused.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.LevelSettings")]
public abstract record LevelSettings
{
    /// <summary>Budget limits per window (the tenant's field names); none by default.</summary>
    [Id(0)] public TenantBudgetLimits Budgets { get; init; } = new();

    /// <summary>The level's own limit of requests per minute; null for none.</summary>
    [Id(1)] public int? RequestsPerMinute { get; init; }

    /// <summary>The level's own limit of tokens per minute (used plus reserved in flight); null for none.</summary>
    [Id(2)] public long? TokensPerMinute { get; init; }

    /// <summary>Catalog models the level may use; empty allows what the parent allows.</summary>
    [Id(3)] public IReadOnlyList<string> AllowedModels { get; init; } = [];

    /// <summary>Catalog actions the level may use; empty allows what the parent allows.</summary>
    [Id(4)] public IReadOnlyList<string> AllowedActions { get; init; } = [];

    /// <summary>Fraction of a limit whose crossing raises a soft alert; null for the tenant's.</summary>
    [Id(5)] public decimal? SoftAlertThreshold { get; init; }

    /// <summary>Where the level's soft alerts are POSTed as JSON; null for the tenant's webhook.</summary>
    [Id(6)] public string? AlertWebhook { get; init; }
}

/// <summary>A project (an application or team) of a tenant: keys may belong to it, and it has its own budgets and limits.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProjectSettings")]
public sealed record ProjectSettings : LevelSettings
{
    /// <summary>The project id (1-64 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>), unique in its tenant.</summary>
    [Id(0)] public required string Id { get; init; }
}

/// <summary>A tenant key's settings: its project, label, expiry, and its own budgets and limits (every field optional).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.KeySettings")]
public sealed record KeySettings : LevelSettings
{
    /// <summary>The project the key belongs to; null for a key of the tenant itself.</summary>
    [Id(0)] public string? Project { get; init; }

    /// <summary>A label to recognise the key by; null for none.</summary>
    [Id(1)] public string? Label { get; init; }

    /// <summary>When the key stops working; null for never.</summary>
    [Id(2)] public DateTimeOffset? ExpiresAt { get; init; }
}

/// <summary>An end user of a tenant's application with budgets or limits of its own (others cost nothing to track).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.EndUserSettings")]
public sealed record EndUserSettings : LevelSettings;
