namespace Orleans.LlmRouter.Contracts;

/// <summary>A managed tenant with its keys (hashes only).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ManagedTenant")]
public sealed record ManagedTenant(
    [property: Id(0)] TenantSettings Settings,
    [property: Id(1)] IReadOnlyList<TenantKeyInfo> Keys,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt);
