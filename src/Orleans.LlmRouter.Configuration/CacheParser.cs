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
            r.CheckKeys(map, of, "enabled", "ttl_seconds", "any_request", "max_mb", "namespace", "hit_price_usd", "semantic");
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
            Semantic = tenant ? ParseSemantic(r, map, of) : null,
        };
    }

    /// <summary>A <c>semantic:</c> block: <c>model</c> (required), <c>threshold</c> (0 to 1, default 0.95), <c>max_entries</c> (default 1000), <c>dimensions</c>.</summary>
    private static SemanticCacheSettings? ParseSemantic(YamlNodeReader r, YamlMappingNode cache, string of)
    {
        var map = r.Map(cache, "semantic", of);
        if (map is null)
        {
            return null;
        }

        var what = "semantic " + of;
        r.CheckKeys(map, what, "model", "threshold", "max_entries", "dimensions");
        var model = r.String(map, "model", what, required: true);
        var threshold = r.Double(map, "threshold", what, 0, 1) ?? 0.95;
        var max = r.Int(map, "max_entries", what, min: 1) ?? 1000;
        if (max > 100_000)
        {
            r.Error(r.Get(map, "max_entries")!, $"max_entries of {what} must be at most 100000 (the index is searched per request)");
        }

        var dimensions = r.Int(map, "dimensions", what, min: 1);
        return model is null ? null : new SemanticCacheSettings(model, threshold, max, dimensions);
    }
}
