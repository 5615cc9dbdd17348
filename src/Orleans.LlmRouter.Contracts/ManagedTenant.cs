namespace Orleans.LlmRouter.Contracts;

/// <summary>A managed tenant with its keys (hashes only).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ManagedTenant")]
public sealed record ManagedTenant(
    [property: Id(0)] TenantSettings Settings,
    [property: Id(1)] IReadOnlyList<TenantKeyInfo> Keys,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt)
{
    /// <summary>The tenant's projects.</summary>
    [Id(4)] public IReadOnlyList<ProjectSettings> Projects { get; init; } = [];

    /// <summary>The tenant's end users with budgets or limits of their own, by end-user id.</summary>
    [Id(5)] public IReadOnlyDictionary<string, EndUserSettings> EndUsers { get; init; } = new Dictionary<string, EndUserSettings>(StringComparer.Ordinal);
}
