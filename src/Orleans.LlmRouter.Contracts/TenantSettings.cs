namespace Orleans.LlmRouter.Contracts;

/// <summary>A tenant managed through the admin API (as opposed to a dev tenant from YAML).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantSettings")]
public sealed record TenantSettings
{
    /// <summary>The tenant id (1-64 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>), as named by <see cref="RouterContext.TenantId"/>.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>A display name; null for none.</summary>
    [Id(1)] public string? Name { get; init; }

    /// <summary>Budget limits per window; none by default.</summary>
    [Id(2)] public TenantBudgetLimits Budgets { get; init; } = new();

    /// <summary>The tenant's own limit of requests per minute; null for none.</summary>
    [Id(3)] public int? RequestsPerMinute { get; init; }

    /// <summary>The tenant's own limit of tokens per minute (used plus reserved in flight); null for none.</summary>
    [Id(4)] public long? TokensPerMinute { get; init; }

    /// <summary>Catalog models the tenant may use; empty allows every model.</summary>
    [Id(5)] public IReadOnlyList<string> AllowedModels { get; init; } = [];

    /// <summary>Catalog actions the tenant may use; empty allows every action.</summary>
    [Id(6)] public IReadOnlyList<string> AllowedActions { get; init; } = [];

    /// <summary>Fraction of a limit (above 0, at most 1) whose crossing raises a soft alert; 0.8 by default.</summary>
    [Id(7)] public decimal SoftAlertThreshold { get; init; } = 0.8m;

    /// <summary>Time-zone id (e.g. <c>Europe/Berlin</c>) in which the daily, weekly and monthly windows start; <c>UTC</c> by default.</summary>
    [Id(8)] public string TimeZone { get; init; } = "UTC";

    /// <summary>Where soft alerts are POSTed as JSON (http or https); null for log only.</summary>
    [Id(9)] public string? AlertWebhook { get; init; }
}
