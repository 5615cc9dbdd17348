namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The registry of tenants managed at run time (key <c>registry</c>), stored with the grain storage (PostgreSQL in the
/// durable mode). Keys are kept as SHA-256 hashes; a plain key is returned once, when issued.
/// </summary>
[Alias("llmrouter.ITenantRegistryGrain")]
public interface ITenantRegistryGrain : IGrainWithStringKey
{
    /// <summary>Returns every managed tenant, with the registry's version.</summary>
    [Alias("snapshot")]
    Task<TenantRegistrySnapshot> GetSnapshotAsync();

    /// <summary>Returns a managed tenant, or null when none has that id (dev tenants from YAML are not in the registry).</summary>
    [Alias("get")]
    Task<ManagedTenant?> GetAsync(string tenantId);

    /// <summary>Creates a tenant, or replaces its settings.</summary>
    [Alias("put")]
    Task<ManagedTenant> PutAsync(TenantSettings settings, bool create);

    /// <summary>Deletes a managed tenant with its keys.</summary>
    /// <exception cref="TenantRegistryException">No managed tenant has that id (<c>not_found</c>).</exception>
    [Alias("delete")]
    Task DeleteAsync(string tenantId);

    /// <summary>Issues a new key for a tenant; the result holds its plain text, which is never returned again.</summary>
    /// <exception cref="TenantRegistryException">No managed tenant has that id (<c>not_found</c>).</exception>
    [Alias("issue-key")]
    Task<IssuedTenantKey> IssueKeyAsync(string tenantId);

    /// <summary>Issues a new key and revokes the old one.</summary>
    [Alias("rotate-key")]
    Task<IssuedTenantKey> RotateKeyAsync(string tenantId, string keyId);

    /// <summary>Revokes one of a tenant's active keys: requests bearing it are refused from then on.</summary>
    /// <exception cref="TenantRegistryException">The tenant or its active key does not exist (<c>not_found</c>).</exception>
    [Alias("revoke-key")]
    Task RevokeKeyAsync(string tenantId, string keyId);

    /// <summary>Subscribes a silo for pushed snapshots and returns the current one; a subscription not renewed within 5 minutes lapses.</summary>
    [Alias("subscribe")]
    Task<TenantRegistrySnapshot> SubscribeAsync(ITenantRegistryObserver observer);
}
