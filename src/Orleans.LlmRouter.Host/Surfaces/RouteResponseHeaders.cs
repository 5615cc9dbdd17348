using System.Diagnostics;
using System.Globalization;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// The routing headers every surface sets on its answer (<c>X-LlmRouter-Provider</c>, <c>-Model</c>, <c>-Cost-Usd</c>,
/// <c>-Attempts</c>, <c>-Overhead-Ms</c>) and <c>X-LlmRouter-Warning</c>, one per request parameter the gateway
/// accepted but could not honour for the model that served the call.
/// </summary>
internal static class RouteResponseHeaders
{
    /// <summary>The warning header's name.</summary>
    public const string Warning = "X-LlmRouter-Warning";

    public static void Set(HttpContext http, string provider, string model, decimal? cost, int attempts, long started, double upstreamMs)
    {
        var h = http.Response.Headers;
        h["X-LlmRouter-Provider"] = provider;
        h["X-LlmRouter-Model"] = model;
        if (cost is { } c)
        {
            h["X-LlmRouter-Cost-Usd"] = OpenAiWriter.Money(c);
        }

        h["X-LlmRouter-Attempts"] = attempts.ToString(CultureInfo.InvariantCulture);
        var overhead = Math.Max(0, Stopwatch.GetElapsedTime(started).TotalMilliseconds - upstreamMs);
        h["X-LlmRouter-Overhead-Ms"] = overhead.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>Adds one <see cref="Warning"/> value per warning.</summary>
    public static void SetWarnings(HttpContext http, IReadOnlyList<string> warnings)
    {
        if (warnings.Count > 0 && !http.Response.HasStarted)
        {
            http.Response.Headers[Warning] = warnings.ToArray();
        }
    }
}
