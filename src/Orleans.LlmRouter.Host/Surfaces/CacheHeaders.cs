using System.Globalization;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// What a request asks of the response cache, from its headers: <c>X-LlmRouter-Cache: use | refresh | skip</c>;
/// <c>Cache-Control: no-cache</c> (as <c>max-age=0</c>: not answered from the cache, its answer stored when the cache applies), <c>no-store</c> (skip, which wins over everything), <c>max-age=N</c> (the
/// oldest stored answer accepted, in seconds); <c>X-LlmRouter-Cache-Ttl: N</c> (how long the answer is kept, 1 s to
/// 7 days). Other <c>Cache-Control</c> directives are ignored, as HTTP asks. A malformed value is a 400 naming the header.
/// </summary>
internal static class CacheHeaders
{
    public const string Mode = "X-LlmRouter-Cache";
    public const string Ttl = "X-LlmRouter-Cache-Ttl";

    /// <summary>The request's directive; null when it has none of the headers (the tenant's and action's settings decide).</summary>
    public static CacheDirective? From(IHeaderDictionary headers)
    {
        var hasMode = headers.TryGetValue(Mode, out var modeValues) && modeValues.Count > 0;
        var hasControl = headers.TryGetValue("Cache-Control", out var control) && control.Count > 0;
        var hasTtl = headers.TryGetValue(Ttl, out var ttlValues) && ttlValues.Count > 0;
        if (!hasMode && !hasControl && !hasTtl)
        {
            return null;
        }

        var mode = CacheMode.Default;
        if (hasMode)
        {
            mode = modeValues[0]?.Trim().ToLowerInvariant() switch
            {
                "use" => CacheMode.Use,
                "refresh" => CacheMode.Refresh,
                "skip" => CacheMode.Skip,
                _ => throw new InvalidRequestException(Mode, $"The {Mode} header must be 'use', 'refresh' or 'skip'."),
            };
        }

        int? maxAge = null;
        var noStore = false;
        foreach (var directive in hasControl ? string.Join(',', control.ToArray()).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [])
        {
            var (name, value) = directive.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                ? (directive[..eq].Trim().ToLowerInvariant(), directive[(eq + 1)..].Trim().Trim('"'))
                : (directive.ToLowerInvariant(), null);
            switch (name)
            {
                case "no-store":
                    noStore = true;
                    break;
                case "no-cache":
                    maxAge = 0; // no stored answer is fresh enough: the request calls upstream (and stores its answer when cached)
                    break;
                case "max-age" when maxAge != 0:
                    maxAge = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                        ? seconds
                        : throw new InvalidRequestException("Cache-Control", "Cache-Control max-age must be a whole number of seconds.");
                    break;
            }
        }

        int? ttl = null;
        if (hasTtl)
        {
            ttl = int.TryParse(ttlValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= CacheDirective.MaxTtlSeconds
                ? s
                : throw new InvalidRequestException(Ttl, $"The {Ttl} header must be a whole number of seconds from 1 to {CacheDirective.MaxTtlSeconds} (7 days).");
        }

        return new CacheDirective { Mode = noStore ? CacheMode.Skip : mode, TtlSeconds = ttl, MaxAgeSeconds = maxAge };
    }
}
