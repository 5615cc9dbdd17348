namespace Orleans.LlmRouter.Contracts;

/// <summary>Every managed tenant, versioned; what silos cache to authenticate without a remote call.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantRegistrySnapshot")]
public sealed record TenantRegistrySnapshot(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<ManagedTenant> Tenants);
