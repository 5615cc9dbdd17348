using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>Persisted registry of managed tenants.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRegistryState")]
internal sealed class TenantRegistryState
{
    [Id(0)] public Dictionary<string, ManagedTenant> Tenants { get; set; } = new(StringComparer.Ordinal);

    [Id(1)] public long Version { get; set; }
}
