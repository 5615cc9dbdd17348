using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

/// <summary>
/// A <c>cache:</c> block of a tenant or an action: <c>enabled</c>, <c>ttl_seconds</c> (1 s to 7 days), <c>any_request</c>;
/// on a tenant also <c>max_mb</c>, <c>namespace</c> (a shared one) and <c>hit_price_usd</c>.
/// </summary>
internal static class CacheParser
{
    /// <summary>The longest TTL: seven days (as a request's <c>X-LlmRouter-Cache-Ttl</c>).</summary>
    private const int MaxTtlSeconds = 7 * 24 * 3600;

    public static CacheSettings? Parse(YamlNodeReader r, YamlMappingNode owner, string what, bool tenant)
    {
        var map = r.Map(owner, "cache", what);
        if (map is null)
        {
            return null;
        }

        var of = $"cache of {what}";
        if (tenant)
        {
            r.CheckKeys(map, of, "enabled", "ttl_seconds", "any_request", "max_mb", "namespace", "hit_price_usd");
        }
        else
        {
            r.CheckKeys(map, of, "enabled", "ttl_seconds", "any_request");
        }

        var ttl = r.Int(map, "ttl_seconds", of, min: 1);
        if (ttl > MaxTtlSeconds)
        {
            r.Error(r.Get(map, "ttl_seconds")!, $"ttl_seconds of {of} must be at most {MaxTtlSeconds} (7 days)");
        }

        var ns = tenant ? r.String(map, "namespace", of) : null;
        if (ns is not null && (ns.Length is 0 or > 64 || ns.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            r.Error(r.Get(map, "namespace")!, $"namespace of {of} must be 1-64 letters, digits, '-', '_' or '.'");
        }

        var mb = tenant ? r.Long(map, "max_mb", of, min: 1) : null;
        return new CacheSettings
        {
            Enabled = r.Bool(map, "enabled", of),
            Ttl = ttl is { } s ? TimeSpan.FromSeconds(s) : null,
            AnyRequest = r.Bool(map, "any_request", of),
            MaxBytes = mb * 1024 * 1024,
            Namespace = ns,
            HitPriceUsd = tenant ? r.Decimal(map, "hit_price_usd", of) : null,
        };
    }
}
