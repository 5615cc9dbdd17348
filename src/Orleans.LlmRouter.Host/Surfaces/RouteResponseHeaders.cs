using System.Diagnostics;
using System.Globalization;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// The routing headers every surface sets on its answer (<c>X-LlmRouter-Provider</c>, <c>-Model</c>, <c>-Cost-Usd</c>,
/// <c>-Attempts</c>, <c>-Overhead-Ms</c>, <c>-Cache</c>) and <c>X-LlmRouter-Warning</c>, one per request parameter the gateway
/// accepted but could not honour for the model that served the call.
/// </summary>
internal static class RouteResponseHeaders
{
    /// <summary>The warning header's name.</summary>
    public const string Warning = "X-LlmRouter-Warning";

    /// <summary>The response cache's header: how the cache served the request (hit, miss, coalesced, bypass).</summary>
    public const string Cache = "X-LlmRouter-Cache";

    public static void Set(HttpContext http, string provider, string model, decimal? cost, int attempts, long started, double upstreamMs, string? cache)
    {
        var h = http.Response.Headers;
        h[Cache] = cache ?? Contracts.CacheStatus.Bypass;
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

    /// <summary>
    /// Sets one <see cref="Warning"/> value per warning of the request, plus one when it asked for reasoning
    /// (<c>thinking</c>, <c>reasoning.effort</c>) and the model that served it (<paramref name="servedModel"/>, once
    /// known) lacks the <c>reasoning</c> capability, so its adapter did not pass it on, and one when it carried
    /// <c>cache_control</c> breakpoints (<paramref name="cacheControl"/>) and that model is not an Anthropic one.
    /// </summary>
    public static void SetWarnings(HttpContext http, IReadOnlyList<string> warnings, Contracts.ChatRequest? request = null, string? servedModel = null, bool cacheControl = false)
    {
        var all = new List<string>(warnings);
        if (servedModel is not null && http.RequestServices.GetService<Core.Catalog.ModelCatalog>() is { } catalog && catalog.TryGetModel(servedModel, out var model))
        {
            if (request is { WantsReasoning: true } && !model.Has(Core.Catalog.Capability.Reasoning))
            {
                all.Add($"reasoning (thinking / reasoning.effort) was ignored: model '{model.Name}' does not take it");
            }

            if (cacheControl && catalog.ProviderOf(model).Type != Core.Catalog.ProviderTypes.Anthropic)
            {
                all.Add($"cache_control was ignored: model '{model.Name}' is not an Anthropic model (its provider's own caching applies and is reported in usage)");
            }
        }

        if (all.Count > 0 && !http.Response.HasStarted)
        {
            http.Response.Headers[Warning] = all.ToArray();
        }
    }
}
