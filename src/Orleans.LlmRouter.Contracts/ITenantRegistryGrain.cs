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

    /// <summary>Issues a key with its project, label, expiry, budgets and limits (validated against its parents).</summary>
    /// <exception cref="TenantRegistryException">No such tenant or project (<c>not_found</c>), or a setting is invalid or above its parent's (<c>invalid</c>).</exception>
    [Alias("issue-key-with")]
    Task<IssuedTenantKey> IssueKeyAsync(string tenantId, KeySettings settings);

    /// <summary>Replaces an active key's settings (its secret stays).</summary>
    [Alias("update-key")]
    Task<TenantKeyInfo> UpdateKeyAsync(string tenantId, string keyId, KeySettings settings);

    /// <summary>
    /// Gives a key a new secret and keeps its id, settings and counters; the old secret keeps working for
    /// <paramref name="overlap"/> (24 hours when null; zero stops it at once).
    /// </summary>
    [Alias("rotate-key")]
    Task<IssuedTenantKey> RotateKeyAsync(string tenantId, string keyId, TimeSpan? overlap = null);

    /// <summary>Creates a project of a tenant, or replaces its settings.</summary>
    /// <exception cref="TenantRegistryException">No such tenant (<c>not_found</c>), it exists already on create (<c>conflict</c>), or a setting is invalid or above the tenant's (<c>invalid</c>).</exception>
    [Alias("put-project")]
    Task<ProjectSettings> PutProjectAsync(string tenantId, ProjectSettings settings, bool create);

    /// <summary>Deletes a project; its keys are revoked with it.</summary>
    [Alias("delete-project")]
    Task DeleteProjectAsync(string tenantId, string projectId);

    /// <summary>Sets an end user's budgets and limits.</summary>
    [Alias("put-end-user")]
    Task<EndUserSettings> PutEndUserAsync(string tenantId, string endUser, EndUserSettings settings);

    /// <summary>Removes an end user's budgets and limits (its calls are still recorded on the ledger).</summary>
    [Alias("delete-end-user")]
    Task DeleteEndUserAsync(string tenantId, string endUser);

    /// <summary>Revokes one of a tenant's active keys: requests bearing it are refused from then on.</summary>
    /// <exception cref="TenantRegistryException">The tenant or its active key does not exist (<c>not_found</c>).</exception>
    [Alias("revoke-key")]
    Task RevokeKeyAsync(string tenantId, string keyId);

    /// <summary>Subscribes a silo for pushed snapshots and returns the current one; a subscription not renewed within 5 minutes lapses.</summary>
    [Alias("subscribe")]
    Task<TenantRegistrySnapshot> SubscribeAsync(ITenantRegistryObserver observer);
}
