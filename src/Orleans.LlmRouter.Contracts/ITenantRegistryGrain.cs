using Orleans.Concurrency;

namespace Orleans.LlmRouter.Contracts;

/// <summary>Budget limits of a tenant; null means no limit in that window.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantBudgetLimits")]
public sealed record TenantBudgetLimits
{
    /// <summary>Token limit over the tenant's whole life.</summary>
    [Id(0)] public long? LifetimeTokens { get; init; }

    /// <summary>Token limit of the day (from 00:00 in the tenant's time zone).</summary>
    [Id(1)] public long? DailyTokens { get; init; }

    /// <summary>Token limit of the calendar month (from the 1st, 00:00 in the tenant's time zone).</summary>
    [Id(2)] public long? MonthlyTokens { get; init; }

    /// <summary>USD limit over the tenant's whole life.</summary>
    [Id(3)] public decimal? LifetimeUsd { get; init; }

    /// <summary>USD limit of the day (from 00:00 in the tenant's time zone).</summary>
    [Id(4)] public decimal? DailyUsd { get; init; }

    /// <summary>USD limit of the calendar month (from the 1st, 00:00 in the tenant's time zone).</summary>
    [Id(5)] public decimal? MonthlyUsd { get; init; }

    /// <summary>Token limit of one run (<see cref="RoutingContext.RunId"/>).</summary>
    [Id(6)] public long? RunTokens { get; init; }

    /// <summary>USD limit of one run (<see cref="RoutingContext.RunId"/>).</summary>
    [Id(7)] public decimal? RunUsd { get; init; }

    /// <summary>Token limit of the ISO week (Monday 00:00 in the tenant's time zone).</summary>
    [Id(8)] public long? WeeklyTokens { get; init; }

    /// <summary>USD limit of the ISO week (Monday 00:00 in the tenant's time zone).</summary>
    [Id(9)] public decimal? WeeklyUsd { get; init; }

    /// <summary>
    /// The limits that are set, as (window name, unit <c>tokens</c>|<c>usd</c>, limit): the one place that maps these
    /// fields onto the budget windows (window names as in <c>BudgetWindows</c>, plus <c>run</c>).
    /// </summary>
    public IEnumerable<(string Window, string Unit, decimal Limit)> Entries()
    {
        (string Window, string Unit, decimal? Limit)[] all =
        [
            ("lifetime", "tokens", LifetimeTokens), ("daily", "tokens", DailyTokens), ("weekly", "tokens", WeeklyTokens), ("monthly", "tokens", MonthlyTokens), ("run", "tokens", RunTokens),
            ("lifetime", "usd", LifetimeUsd), ("daily", "usd", DailyUsd), ("weekly", "usd", WeeklyUsd), ("monthly", "usd", MonthlyUsd), ("run", "usd", RunUsd),
        ];
        foreach (var (window, unit, limit) in all)
        {
            if (limit is { } l)
            {
                yield return (window, unit, l);
            }
        }
    }
}

/// <summary>A tenant managed through the admin API (as opposed to a dev tenant from YAML).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantSettings")]
public sealed record TenantSettings
{
    /// <summary>The tenant id (1-64 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>), as named by <see cref="RoutingContext.TenantId"/>.</summary>
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

/// <summary>A tenant key as stored: its hash only, plus an id and a short prefix to recognise it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantKeyInfo")]
public sealed record TenantKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Prefix,
    [property: Id(2)] string Hash,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? RevokedAt);

/// <summary>A managed tenant with its keys (hashes only).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ManagedTenant")]
public sealed record ManagedTenant(
    [property: Id(0)] TenantSettings Settings,
    [property: Id(1)] IReadOnlyList<TenantKeyInfo> Keys,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt);

/// <summary>A newly issued key: the only time its plain text is ever returned.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.IssuedTenantKey")]
public sealed record IssuedTenantKey(
    [property: Id(0)] string TenantId,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string Key);

/// <summary>Every managed tenant, versioned; what silos cache to authenticate without a remote call.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantRegistrySnapshot")]
public sealed record TenantRegistrySnapshot(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<ManagedTenant> Tenants);

/// <summary>A silo's listener for tenant registry changes.</summary>
[Alias("llmrouter.ITenantRegistryObserver")]
public interface ITenantRegistryObserver : IGrainObserver
{
    /// <summary>Receives the registry's new snapshot after a change (one-way: the grain does not wait for the silo).</summary>
    [Alias("changed"), OneWay]
    Task OnChanged(TenantRegistrySnapshot snapshot);
}

/// <summary>The tenant id or key does not exist, or the change conflicts with the current state.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRegistryException")]
public sealed class TenantRegistryException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TenantRegistryException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TenantRegistryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TenantRegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>not_found, conflict or invalid.</summary>
    [Id(0)] public string Kind { get; init; } = "invalid";
}

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
