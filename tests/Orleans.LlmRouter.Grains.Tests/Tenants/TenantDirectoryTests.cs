using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Tests.Tenants;

/// <summary>
/// A registry grain that stops answering (its silo just died) must not hold authentication behind the directory's
/// refresh for a whole response timeout: after <see cref="TenantDirectory.RefreshTimeout"/> the last known view serves.
/// </summary>
public sealed class TenantDirectoryTests
{
    [Fact]
    public async Task A_refresh_that_the_registry_never_answers_gives_up_after_the_refresh_timeout_and_keeps_the_last_view()
    {
        var time = new FakeTimeProvider();
        var registry = new Registry();
        var catalog = new CatalogLoader(environment: _ => null).Load([("t.yaml", "providers:\n  - { id: sim, type: simulated }\nmodels:\n  - { name: m, provider: sim, provider_model: m, capabilities: [chat], context_window: 1000, max_output_tokens: 10, pricing: { input: 1, output: 1 } }\n")]).Catalog;
        var directory = new TenantDirectory(catalog, new Grains(registry), new RouterClock(time), NullLogger<TenantDirectory>.Instance);
        var key = "sk-test-managed-key";
        registry.Answer = Task.FromResult(new TenantRegistrySnapshot(1, [Managed("acme", key)]));
        Assert.Equal("acme", (await directory.ResolveAsync(key))?.Id);

        // Stale: the next call refreshes, and the registry hangs.
        registry.Answer = new TaskCompletionSource<TenantRegistrySnapshot>().Task;
        time.Advance(TenantDirectory.Staleness + TimeSpan.FromSeconds(1));
        var resolving = directory.ResolveAsync(key).AsTask(); // runs up to the registry call, which hangs
        Assert.False(resolving.IsCompleted);

        time.Advance(TenantDirectory.RefreshTimeout);
        var tenant = await resolving.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("acme", tenant?.Id); // the last known view
    }

    private static ManagedTenant Managed(string id, string key)
    {
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));
        return new ManagedTenant(new TenantSettings { Id = id }, [new TenantKeyInfo("k1", key[..8], "sha256:" + hash, DateTimeOffset.UnixEpoch, null)], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
    }

    private sealed class Registry : ITenantRegistryGrain
    {
        public Task<TenantRegistrySnapshot> Answer { get; set; } = Task.FromResult(new TenantRegistrySnapshot(0, []));

        public Task<TenantRegistrySnapshot> SubscribeAsync(ITenantRegistryObserver observer) => Answer;

        public Task<TenantRegistrySnapshot> GetSnapshotAsync() => Answer;

        public Task<ManagedTenant?> GetAsync(string tenantId) => throw new NotSupportedException();

        public Task<ManagedTenant> PutAsync(TenantSettings settings, bool create) => throw new NotSupportedException();

        public Task DeleteAsync(string tenantId) => throw new NotSupportedException();

        public Task<IssuedTenantKey> IssueKeyAsync(string tenantId) => throw new NotSupportedException();

        public Task<IssuedTenantKey> RotateKeyAsync(string tenantId, string keyId, TimeSpan? overlap = null) => throw new NotSupportedException();

        public Task<IssuedTenantKey> IssueKeyAsync(string tenantId, KeySettings settings) => throw new NotSupportedException();

        public Task<TenantKeyInfo> UpdateKeyAsync(string tenantId, string keyId, KeySettings settings) => throw new NotSupportedException();

        public Task<ProjectSettings> PutProjectAsync(string tenantId, ProjectSettings settings, bool create) => throw new NotSupportedException();

        public Task DeleteProjectAsync(string tenantId, string projectId) => throw new NotSupportedException();

        public Task<EndUserSettings> PutEndUserAsync(string tenantId, string endUser, EndUserSettings settings) => throw new NotSupportedException();

        public Task DeleteEndUserAsync(string tenantId, string endUser) => throw new NotSupportedException();

        public Task RevokeKeyAsync(string tenantId, string keyId) => throw new NotSupportedException();
    }

    /// <summary>Hands out the registry; an observer reference is the observer itself.</summary>
    private sealed class Grains(Registry registry) : IGrainFactory
    {
        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithStringKey =>
            (TGrainInterface)(object)registry;

        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver =>
            (TGrainObserverInterface)obj;

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null) where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();

        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj) where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();

        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey, string grainClassNamePrefix) => throw new NotSupportedException();

        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey) => throw new NotSupportedException();
    }
}
