using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The one way to reach the gateway's grains: their key conventions in one place, and references made once per grain
/// factory (<c>GetGrain</c> resolves the interface type on every call, which showed up as about 2 % of the gateway's CPU
/// under load).
/// </summary>
public static class LlmRouterGrainFactoryExtensions
{
    /// <summary>The key of the single tenant registry grain.</summary>
    public const string TenantRegistryKey = "registry";

    private static readonly ConditionalWeakTable<IGrainFactory, References> Cache = [];

    /// <summary>The router grain (a stateless worker); a separate front end spreads its calls over several keys.</summary>
    public static IRouterGrain GetRouter(this IGrainFactory grains, long key = 0) =>
        Of(grains).Routers.GetOrAdd(key, static (k, g) => g.GetGrain<IRouterGrain>(k), grains);

    /// <summary>The budget grain of a tenant (key <c>t:&lt;tenant id&gt;</c>, <see cref="TenantBudgetKeys"/>).</summary>
    public static ITenantBudgetGrain GetTenantBudget(this IGrainFactory grains, string tenantId) =>
        Of(grains).Budgets.GetOrAdd(tenantId, static (t, g) => g.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(t)), grains);

    /// <summary>The grain of a provider scope (a provider id, or <c>model@provider</c> for a model with its own limits).</summary>
    public static IProviderGrain GetProviderScope(this IGrainFactory grains, string scope) =>
        Of(grains).Providers.GetOrAdd(scope, static (s, g) => g.GetGrain<IProviderGrain>(s), grains);

    /// <summary>
    /// The stored response <paramref name="responseId"/> of <paramref name="tenantId"/> (key <c>&lt;tenant id&gt;/&lt;response id&gt;</c>:
    /// the tenant in the key is what keeps tenants apart). Not cached: response ids are unbounded.
    /// </summary>
    public static IResponseStoreGrain GetStoredResponse(this IGrainFactory grains, string tenantId, string responseId)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return grains.GetGrain<IResponseStoreGrain>(tenantId + "/" + responseId);
    }

    /// <summary>The tenant registry grain (managed tenants and their keys).</summary>
    public static ITenantRegistryGrain GetTenantRegistry(this IGrainFactory grains) => Of(grains).Registry;

    private static References Of(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Cache.GetValue(grains, static g => new References(g));
    }

    private sealed class References(IGrainFactory grains)
    {
        public ConcurrentDictionary<long, IRouterGrain> Routers { get; } = new();

        public ConcurrentDictionary<string, ITenantBudgetGrain> Budgets { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, IProviderGrain> Providers { get; } = new(StringComparer.Ordinal);

        public ITenantRegistryGrain Registry { get; } = grains.GetGrain<ITenantRegistryGrain>(TenantRegistryKey);
    }
}
