using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>How one request uses the response cache: where its answers live, whether it reads them, for how long it keeps one.</summary>
/// <param name="Namespace">The entries it reads and writes: <c>t:&lt;tenant&gt;</c>, or <c>s:&lt;name&gt;</c> for a shared namespace.</param>
/// <param name="Lookup">False when the request must not be answered from the cache (a refresh).</param>
/// <param name="Ttl">How long the answer it stores stays.</param>
/// <param name="MaxAge">The oldest entry it accepts; null for any within its TTL.</param>
/// <param name="MaxBytes">The namespace's size cap.</param>
/// <param name="HitPriceUsd">What a hit costs the caller.</param>
internal sealed record CacheUse(string Namespace, bool Lookup, TimeSpan Ttl, TimeSpan? MaxAge, long MaxBytes, decimal HitPriceUsd);

/// <summary>
/// Decides whether a request uses the response cache. The rule, in order:
/// <list type="number">
/// <item>A tenant with <c>cache: { enabled: false }</c> is never cached, nor a request that says <c>skip</c> or <c>no-store</c>.</item>
/// <item>A request that says <c>use</c> or <c>refresh</c> (or <c>Cache-Control: no-cache</c>) is cached: the caller opted in.</item>
/// <item>Otherwise the request is cached when its action's <c>cache.enabled</c> (else its tenant's) is true and the
/// request is deterministic — temperature 0 or a seed — or <c>cache.any_request</c> is true.</item>
/// </list>
/// TTL: the request's, else the action's, else the tenant's, else the gateway's default.
/// </summary>
internal static class CachePolicy
{
    public static CacheUse? Decide(TenantDefinition tenant, ActionDefinition? action, ChatRequest request, CacheDirective? directive, TimeSpan defaultTtl, long defaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(request);
        var t = tenant.Cache;
        var a = action?.Cache;
        var mode = directive?.Mode ?? CacheMode.Default;
        if (t?.Enabled == false || mode == CacheMode.Skip)
        {
            return null;
        }

        if (mode == CacheMode.Default)
        {
            var enabled = a?.Enabled ?? t?.Enabled ?? false;
            var any = a?.AnyRequest ?? t?.AnyRequest ?? false;
            if (!enabled || !(any || IsDeterministic(request)))
            {
                return null;
            }
        }

        var ttl = directive?.TtlSeconds is { } s ? TimeSpan.FromSeconds(s) : a?.Ttl ?? t?.Ttl ?? defaultTtl;
        var maxAge = directive?.MaxAgeSeconds is { } m ? TimeSpan.FromSeconds(m) : (TimeSpan?)null;
        return new CacheUse(NamespaceOf(tenant), mode != CacheMode.Refresh && maxAge != TimeSpan.Zero, ttl, maxAge, t?.MaxBytes ?? defaultMaxBytes, t?.HitPriceUsd ?? 0m);
    }

    /// <summary>Where a tenant's answers live: <c>t:&lt;tenant&gt;</c>, or <c>s:&lt;name&gt;</c> for the shared namespace it names.</summary>
    public static string NamespaceOf(TenantDefinition tenant) => tenant.Cache?.Namespace is { } shared ? "s:" + shared : "t:" + tenant.Id;

    /// <summary>A request whose answer does not depend on sampling luck: temperature 0, or a seed.</summary>
    public static bool IsDeterministic(ChatRequest request) => request.Temperature == 0 || request.Seed is not null;
}
