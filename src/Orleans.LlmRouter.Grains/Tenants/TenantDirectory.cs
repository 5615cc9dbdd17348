using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>
/// Silo-local view of every tenant: dev tenants from YAML plus managed tenants from the registry grain (pushed on
/// change, re-fetched when older than <see cref="Staleness"/>). Resolves a bearer key to its tenant by hashing it and
/// comparing hashes in constant time, with no remote call on a warm silo.
/// </summary>
internal sealed partial class TenantDirectory : ITenantRegistryObserver, IDisposable
{
    public static readonly TimeSpan Staleness = TimeSpan.FromSeconds(30);

    /// <summary>How long a refresh waits for the registry grain before the last known view is kept.</summary>
    public static readonly TimeSpan RefreshTimeout = TimeSpan.FromSeconds(5);

    private readonly ModelCatalog _catalog;
    private readonly IGrainFactory _grains;
    private readonly RouterClock _clock;
    private readonly ILogger<TenantDirectory> _logger;
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private volatile View _view;
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;
    private ITenantRegistryObserver? _self;

    public TenantDirectory(ModelCatalog catalog, IGrainFactory grains, RouterClock clock, ILogger<TenantDirectory> logger)
    {
        _catalog = catalog;
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _view = Build(catalog, new TenantRegistrySnapshot(-1, []));
    }

    /// <summary>The tenant of a bearer key, or null (unknown, expired or revoked key).</summary>
    public async ValueTask<TenantDefinition?> ResolveAsync(string? key) => (await ResolveKeyAsync(key))?.Tenant;

    /// <summary>
    /// The tenant and key of a bearer key, or null (unknown, expired or revoked key; a rotated secret after its
    /// overlap). <see cref="ResolvedKey.Key"/> is null for a YAML key given as a bare hash.
    /// </summary>
    public async ValueTask<ResolvedKey?> ResolveKeyAsync(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 512)
        {
            return null;
        }

        await EnsureFreshAsync();
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        var hex = Convert.ToHexStringLower(hash);
        if (!_view.ByKey.TryGetValue(hex, out var entry) || !CryptographicOperations.FixedTimeEquals(entry.Hash, hash))
        {
            return null;
        }

        return entry.Key is null || entry.Key.Opens("sha256:" + hex, _clock.UtcNow) ? new ResolvedKey(entry.Tenant, entry.Key) : null;
    }

    /// <summary>
    /// True when the key whose SHA-256 is <paramref name="hashHex"/> still opens <paramref name="tenantId"/> (not revoked,
    /// expired or rotated past its overlap; the tenant not deleted): a console session signed in with it is checked so.
    /// </summary>
    public async ValueTask<bool> OpensAsync(string tenantId, string hashHex)
    {
        ArgumentNullException.ThrowIfNull(hashHex);
        await EnsureFreshAsync();
        var hex = hashHex.ToLowerInvariant();
        return _view.ByKey.TryGetValue(hex, out var entry) && entry.Tenant.Id == tenantId && (entry.Key is null || entry.Key.Opens("sha256:" + hex, _clock.UtcNow));
    }

    /// <summary>A tenant by id, from the local view.</summary>
    public async ValueTask<TenantDefinition?> GetAsync(string tenantId)
    {
        await EnsureFreshAsync();
        return _view.ById.GetValueOrDefault(tenantId);
    }

    /// <summary>Every known tenant (YAML and managed).</summary>
    public async ValueTask<IReadOnlyCollection<TenantDefinition>> AllAsync()
    {
        await EnsureFreshAsync();
        return _view.ById.Values;
    }

    /// <summary>Re-reads the registry now (after a change made through this silo, so it applies here at once).</summary>
    public async Task RefreshAsync()
    {
        Apply(await _grains.GetTenantRegistry().GetSnapshotAsync());
    }

    public void Dispose() => _loadLock.Dispose();

    Task ITenantRegistryObserver.OnChanged(TenantRegistrySnapshot snapshot)
    {
        Apply(snapshot);
        return Task.CompletedTask;
    }

    private async ValueTask EnsureFreshAsync()
    {
        if (_clock.UtcNow - _loadedAt < Staleness)
        {
            return;
        }

        await _loadLock.WaitAsync();
        try
        {
            if (_clock.UtcNow - _loadedAt < Staleness)
            {
                return;
            }

            _self ??= await Task.Run(() => _grains.CreateObjectReference<ITenantRegistryObserver>(this));
            // Bounded: a registry on a silo that just died would otherwise hold every caller behind this lock for the
            // whole response timeout; with a view at hand the last known tenants keep being served.
            Apply(await _grains.GetTenantRegistry().SubscribeAsync(_self).WaitAsync(RefreshTimeout, _clock.Time));
            _loadedAt = _clock.UtcNow;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && _view.Version >= 0)
        {
            LogRefreshFailed(_logger, ex); // keep serving the last known view
            _loadedAt = _clock.UtcNow;
        }
        finally
        {
            _loadLock.Release();
        }
    }

    private void Apply(TenantRegistrySnapshot snapshot)
    {
        if (snapshot.Version >= _view.Version)
        {
            _view = Build(_catalog, snapshot);
        }
    }

    private static View Build(ModelCatalog catalog, TenantRegistrySnapshot snapshot)
    {
        var byId = new Dictionary<string, TenantDefinition>(StringComparer.Ordinal);
        var byKey = new Dictionary<string, KeyEntry>(StringComparer.Ordinal);
        foreach (var tenant in catalog.Tenants.Values)
        {
            Add(tenant);
        }

        foreach (var managed in snapshot.Tenants)
        {
            Add(ManagedTenants.Define(managed));
        }

        return new View(snapshot.Version, byId, byKey);

        void Add(TenantDefinition tenant)
        {
            byId[tenant.Id] = tenant;
            foreach (var hash in tenant.KeyHashes)
            {
                byKey[hash[7..]] = new KeyEntry(Convert.FromHexString(hash[7..]), tenant, null);
            }

            foreach (var key in tenant.Keys.Values)
            {
                byKey[key.Hash[7..]] = new KeyEntry(Convert.FromHexString(key.Hash[7..]), tenant, key);
                if (key.PreviousHash is { } previous)
                {
                    byKey[previous[7..]] = new KeyEntry(Convert.FromHexString(previous[7..]), tenant, key);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant registry unreachable; serving the last known tenants")]
    private static partial void LogRefreshFailed(ILogger logger, Exception ex);

    private sealed record KeyEntry(byte[] Hash, TenantDefinition Tenant, KeyDefinition? Key);

    private sealed record View(long Version, Dictionary<string, TenantDefinition> ById, Dictionary<string, KeyEntry> ByKey);
}
