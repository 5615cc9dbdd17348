using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>
/// Owns the managed tenants and their key hashes; writes through to grain storage on every change (admin traffic
/// only) and pushes the new snapshot to subscribed silos, which authenticate from their local copy.
/// </summary>
internal sealed partial class TenantRegistryGrain(
    [PersistentState("tenant-registry")] IPersistentState<TenantRegistryState> state,
    ModelCatalog catalog,
    RouterClock clock) : Grain, ITenantRegistryGrain
{
    public const string Key = "registry";
    private readonly Dictionary<ITenantRegistryObserver, DateTimeOffset> _observers = [];

    public Task<TenantRegistrySnapshot> GetSnapshotAsync() => Task.FromResult(Snapshot());

    public Task<ManagedTenant?> GetAsync(string tenantId) => Task.FromResult(state.State.Tenants.GetValueOrDefault(tenantId));

    public async Task<ManagedTenant> PutAsync(TenantSettings settings, bool create)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Validate(settings);
        var exists = state.State.Tenants.TryGetValue(settings.Id, out var current);
        if (create && (exists || catalog.Tenants.ContainsKey(settings.Id)))
        {
            throw new TenantRegistryException($"Tenant '{settings.Id}' already exists.") { Kind = "conflict" };
        }

        if (!create && !exists)
        {
            throw new TenantRegistryException(catalog.Tenants.ContainsKey(settings.Id)
                ? $"Tenant '{settings.Id}' is a dev tenant from YAML; edit its configuration file instead."
                : $"Tenant '{settings.Id}' does not exist.") { Kind = catalog.Tenants.ContainsKey(settings.Id) ? "conflict" : "not_found" };
        }

        var now = clock.UtcNow;
        var tenant = current is null
            ? new ManagedTenant(settings, [], now, now)
            : current with { Settings = settings, UpdatedAt = now };
        await CommitAsync(tenant);
        return tenant;
    }

    public async Task DeleteAsync(string tenantId)
    {
        if (!state.State.Tenants.Remove(tenantId))
        {
            throw new TenantRegistryException($"Tenant '{tenantId}' does not exist.") { Kind = "not_found" };
        }

        await ChangedAsync();
    }

    public Task<IssuedTenantKey> IssueKeyAsync(string tenantId) => IssueKeyAsync(tenantId, new KeySettings());

    public async Task<IssuedTenantKey> IssueKeyAsync(string tenantId, KeySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var tenant = Require(tenantId);
        var now = clock.UtcNow;
        CheckKey(tenant, settings, now);
        var (info, key) = NewKey(now);
        await CommitAsync(tenant with { Keys = [.. tenant.Keys, info with { Settings = settings }], UpdatedAt = now });
        return new IssuedTenantKey(tenantId, info.KeyId, key);
    }

    public async Task<TenantKeyInfo> UpdateKeyAsync(string tenantId, string keyId, KeySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var tenant = Require(tenantId);
        var old = RequireKey(tenant, keyId);
        var now = clock.UtcNow;
        CheckKey(tenant, settings, now);
        var updated = old with { Settings = settings };
        await CommitAsync(tenant with { Keys = tenant.Keys.Select(k => k.KeyId == old.KeyId ? updated : k).ToList(), UpdatedAt = now });
        return updated;
    }

    public async Task<IssuedTenantKey> RotateKeyAsync(string tenantId, string keyId, TimeSpan? overlap = null)
    {
        var tenant = Require(tenantId);
        var old = RequireKey(tenant, keyId);
        var keep = overlap ?? DefaultRotationOverlap;
        if (keep < TimeSpan.Zero || keep > MaxRotationOverlap)
        {
            throw new TenantRegistryException($"overlapSeconds must be between 0 and {(long)MaxRotationOverlap.TotalSeconds}.") { Kind = "invalid" };
        }

        var now = clock.UtcNow;
        var (fresh, key) = NewKey(now);
        var rotated = old with { Hash = fresh.Hash, Prefix = fresh.Prefix, PreviousHash = keep > TimeSpan.Zero ? old.Hash : null, PreviousValidUntil = keep > TimeSpan.Zero ? now + keep : null };
        await CommitAsync(tenant with { Keys = tenant.Keys.Select(k => k.KeyId == old.KeyId ? rotated : k).ToList(), UpdatedAt = now });
        return new IssuedTenantKey(tenantId, old.KeyId, key);
    }

    /// <summary>How long the secret before a rotation keeps working when the caller does not say.</summary>
    public static readonly TimeSpan DefaultRotationOverlap = TimeSpan.FromHours(24);

    /// <summary>The longest overlap a rotation may keep the old secret working.</summary>
    public static readonly TimeSpan MaxRotationOverlap = TimeSpan.FromDays(30);

    public async Task RevokeKeyAsync(string tenantId, string keyId)
    {
        var tenant = Require(tenantId);
        var old = RequireKey(tenant, keyId);
        var now = clock.UtcNow;
        state.State.Tenants[tenantId] = tenant with { Keys = tenant.Keys.Select(k => k.KeyId == old.KeyId ? k with { RevokedAt = now } : k).ToList(), UpdatedAt = now };
        await ChangedAsync();
    }

    public async Task<ProjectSettings> PutProjectAsync(string tenantId, ProjectSettings settings, bool create)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var tenant = Require(tenantId);
        if (!IdPattern().IsMatch(settings.Id ?? string.Empty))
        {
            throw new TenantRegistryException("Invalid project: id must be 1-64 letters, digits, '.', '_' or '-'.") { Kind = "invalid" };
        }

        var exists = tenant.Projects.Any(p => p.Id == settings.Id);
        if (create && exists)
        {
            throw new TenantRegistryException($"Project '{settings.Id}' of tenant '{tenantId}' already exists.") { Kind = "conflict" };
        }

        if (!create && !exists)
        {
            throw new TenantRegistryException($"Tenant '{tenantId}' has no project '{settings.Id}'.") { Kind = "not_found" };
        }

        var projects = tenant.Projects.Where(p => p.Id != settings.Id).Append(settings).OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        await CommitAsync(tenant with { Projects = projects, UpdatedAt = clock.UtcNow });
        return settings;
    }

    public async Task DeleteProjectAsync(string tenantId, string projectId)
    {
        var tenant = Require(tenantId);
        if (!tenant.Projects.Any(p => p.Id == projectId))
        {
            throw new TenantRegistryException($"Tenant '{tenantId}' has no project '{projectId}'.") { Kind = "not_found" };
        }

        var now = clock.UtcNow;
        var keys = tenant.Keys.Select(k => k.Settings.Project == projectId && k.RevokedAt is null ? k with { RevokedAt = now } : k).ToList();
        state.State.Tenants[tenantId] = tenant with { Projects = tenant.Projects.Where(p => p.Id != projectId).ToList(), Keys = keys, UpdatedAt = now };
        await ChangedAsync();
    }

    public async Task<EndUserSettings> PutEndUserAsync(string tenantId, string endUser, EndUserSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var tenant = Require(tenantId);
        if (!LevelRules.IsEndUserId(endUser))
        {
            throw new TenantRegistryException("Invalid end user: its id must be 1-256 characters, none a control character.") { Kind = "invalid" };
        }

        var users = new Dictionary<string, EndUserSettings>(tenant.EndUsers, StringComparer.Ordinal) { [endUser] = settings };
        await CommitAsync(tenant with { EndUsers = users, UpdatedAt = clock.UtcNow });
        return settings;
    }

    public async Task DeleteEndUserAsync(string tenantId, string endUser)
    {
        var tenant = Require(tenantId);
        if (!tenant.EndUsers.ContainsKey(endUser))
        {
            throw new TenantRegistryException($"Tenant '{tenantId}' has no end user '{endUser}' with settings.") { Kind = "not_found" };
        }

        var users = new Dictionary<string, EndUserSettings>(tenant.EndUsers, StringComparer.Ordinal);
        users.Remove(endUser);
        state.State.Tenants[tenantId] = tenant with { EndUsers = users, UpdatedAt = clock.UtcNow };
        await ChangedAsync();
    }

    /// <summary>A key's own checks: its project exists, it does not expire in the past, its label is short.</summary>
    private static void CheckKey(ManagedTenant tenant, KeySettings settings, DateTimeOffset now)
    {
        var problems = new List<string>();
        if (settings.Project is { } p && !tenant.Projects.Any(x => x.Id == p))
        {
            throw new TenantRegistryException($"Tenant '{tenant.Settings.Id}' has no project '{p}'.") { Kind = "not_found" };
        }

        if (settings.ExpiresAt is { } at && at <= now)
        {
            problems.Add("expiresAt must be in the future");
        }

        if (settings.Label is { Length: > 200 })
        {
            problems.Add("label must be at most 200 characters");
        }

        if (problems.Count > 0)
        {
            throw new TenantRegistryException("Invalid key: " + string.Join("; ", problems) + ".") { Kind = "invalid" };
        }
    }

    /// <summary>Stores a tenant whose levels all fit within their parents, and pushes the change.</summary>
    private async Task CommitAsync(ManagedTenant tenant)
    {
        var problems = LevelRules.TreeProblems(tenant.Settings, tenant, catalog);
        if (problems.Count > 0)
        {
            throw new TenantRegistryException("Invalid limits: " + string.Join("; ", problems) + ".") { Kind = "invalid" };
        }

        state.State.Tenants[tenant.Settings.Id] = tenant;
        await ChangedAsync();
    }

    public Task<TenantRegistrySnapshot> SubscribeAsync(ITenantRegistryObserver observer)
    {
        var now = clock.UtcNow;
        _observers[observer] = now;
        foreach (var stale in _observers.Where(kv => now - kv.Value > TimeSpan.FromMinutes(5)).Select(kv => kv.Key).ToList())
        {
            _observers.Remove(stale);
        }

        return Task.FromResult(Snapshot());
    }

    /// <summary>The plain text of a new key and its stored form (hash only).</summary>
    internal static (TenantKeyInfo Info, string Key) NewKey(DateTimeOffset? now = null)
    {
        var key = "sk-lr-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        return (new TenantKeyInfo(id, key[..10], hash, now ?? DateTimeOffset.UtcNow, null), key);
    }

    private ManagedTenant Require(string tenantId) =>
        state.State.Tenants.TryGetValue(tenantId, out var t) ? t : throw new TenantRegistryException($"Tenant '{tenantId}' does not exist.") { Kind = "not_found" };

    private static TenantKeyInfo RequireKey(ManagedTenant tenant, string keyId) =>
        tenant.Keys.FirstOrDefault(k => k.KeyId == keyId && k.RevokedAt is null)
        ?? throw new TenantRegistryException($"Tenant '{tenant.Settings.Id}' has no active key '{keyId}'.") { Kind = "not_found" };

    private void Validate(TenantSettings s)
    {
        var problems = new List<string>();
        if (!IdPattern().IsMatch(s.Id))
        {
            problems.Add("id must be 1-64 letters, digits, '.', '_' or '-'");
        }

        var b = s.Budgets;
        if (b.Entries().Any(e => e.Limit < 0))
        {
            problems.Add("budgets must not be negative");
        }

        if (s.RequestsPerMinute < 1 || s.TokensPerMinute < 1)
        {
            problems.Add("limits must be positive");
        }

        if (s.SoftAlertThreshold is <= 0 or > 1)
        {
            problems.Add("softAlertThreshold must be above 0 and at most 1");
        }

        if (!TimeZoneInfo.TryFindSystemTimeZoneById(s.TimeZone, out _))
        {
            problems.Add($"timeZone '{s.TimeZone}' is not a known time zone");
        }

        if (s.AlertWebhook is { } hook && (!Uri.TryCreate(hook, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            problems.Add("alertWebhook must be an absolute http(s) URL");
        }

        problems.AddRange(s.AllowedModels.Where(m => !catalog.Models.ContainsKey(m)).Select(m => $"allowedModels names unknown model '{m}'"));
        problems.AddRange(s.AllowedActions.Where(a => !catalog.Actions.ContainsKey(a)).Select(a => $"allowedActions names unknown action '{a}'"));
        if (problems.Count > 0)
        {
            throw new TenantRegistryException("Invalid tenant: " + string.Join("; ", problems) + ".") { Kind = "invalid" };
        }
    }

    private TenantRegistrySnapshot Snapshot() => new(state.State.Version, state.State.Tenants.Values.ToList());

    private async Task ChangedAsync()
    {
        state.State.Version++;
        await state.WriteStateAsync();
        var snapshot = Snapshot();
        foreach (var observer in _observers.Keys.ToList())
        {
            try
            {
                await observer.OnChanged(snapshot);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _observers.Remove(observer);
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();
}
