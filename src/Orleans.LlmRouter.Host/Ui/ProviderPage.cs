using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Host.Admin;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Providers (admin): every provider, model scope and deployment with its breaker state, failure ratio, latency,
/// limit usage and concurrency slots in flight — the rows of <c>GET /api/v1/health/providers</c>, from the same code —
/// refreshed every few seconds by the console script from <c>/ui/providers/data</c>; enable and disable at run time.
/// </summary>
internal static class ProviderPage
{
    public static async Task<IResult> RenderAsync(HttpContext http, IGrainFactory grains, ModelCatalog catalog)
    {
        var rows = await RowsAsync(grains, catalog);
        var sb = new StringBuilder("<h1>Providers</h1><p>Cluster-wide state from each provider grain; this page refreshes every 3 seconds.</p>");
        sb.Append("<div class=\"table-wrap\"><table id=\"providers\" data-poll=\"/ui/providers/data\" data-poll-seconds=\"3\"><caption>Providers, model scopes and deployments</caption><thead><tr>");
        foreach (var h in new[] { "Provider", "Type", "Enabled", "Breaker", "Failure ratio", "Latency p50 / p95", "Requests this minute", "Tokens this minute", "Slots in flight", "Last failure", "Action" })
        {
            sb.Append("<th scope=\"col\">").Append(E(h)).Append("</th>");
        }

        sb.Append("</tr></thead><tbody>");
        foreach (var r in rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr data-provider=\"{E(r.Id)}\"><th scope=\"row\">{E(r.Id)}</th><td>{E(r.Type)}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td data-k=\"enabled\">{E(r.Enabled)}</td><td data-k=\"state\">{E(r.State)}</td><td data-k=\"failureRatio\">{E(r.FailureRatio)}</td><td data-k=\"latency\">{E(r.Latency)}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td data-k=\"requests\">{E(r.Requests)}</td><td data-k=\"tokens\">{E(r.Tokens)}</td><td data-k=\"slots\">{E(r.Slots)}</td><td data-k=\"lastFailure\">{E(r.LastFailure)}</td><td>");
            if (r.Configurable)
            {
                var path = "/ui/providers/" + Uri.EscapeDataString(r.Id);
                // Both buttons, the one that does not apply hidden; the live refresh swaps them when the state changes.
                sb.Append(CultureInfo.InvariantCulture, $"<span data-when=\"on\"{(r.On ? string.Empty : " hidden")}>").Append(Button(http, path + "/disable", "Disable " + r.Id, "Disable " + r.Id + " on every silo?", "danger")).Append("</span>");
                sb.Append(CultureInfo.InvariantCulture, $"<span data-when=\"off\"{(r.On ? " hidden" : string.Empty)}>").Append(Button(http, path + "/enable", "Enable " + r.Id)).Append("</span>");
            }
            else
            {
                sb.Append("<span class=\"muted\">disabled by configuration</span>");
            }

            sb.Append("</td></tr>");
        }

        sb.Append("</tbody></table></div>");
        return Page(http, "Providers", sb.ToString(), session: http.Session());
    }

    /// <summary>The rows as JSON for the page's live refresh.</summary>
    public static async Task<IResult> DataAsync(HttpContext http, IGrainFactory grains, ModelCatalog catalog)
    {
        Secure(http.Response);
        return TypedResults.Json(await RowsAsync(grains, catalog));
    }

    public static async Task<IResult> SetEnabledAsync(HttpContext http, string id, bool enabled)
    {
        var services = http.RequestServices;
        var result = await AdminEndpoints.SetEnabledAsync(id, enabled, services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<ModelCatalog>(), services);
        if (result.Result is ProblemHttpResult problem)
        {
            return Page(http, "Not changed", $"<h1>Not changed</h1><p class=\"error\" role=\"alert\">{E(problem.ProblemDetails.Detail)}</p>", problem.StatusCode, http.Session());
        }

        return Results.Redirect("/ui/providers");
    }

    private static async Task<List<Row>> RowsAsync(IGrainFactory grains, ModelCatalog catalog)
    {
        var views = (await AdminEndpoints.ProviderHealthAsync(grains, catalog)).Value ?? [];
        return views.Select(v =>
        {
            var h = v.Health;
            var limits = catalog.Providers.TryGetValue(v.Id, out var p) ? p.Limits : null;
            var total = h is null ? 0 : h.Successes + h.Failures;
            return new Row(
                v.Id,
                v.Type,
                v.Enabled ? "yes" : "no" + (v.DisabledReason is { } why ? $" ({why})" : string.Empty),
                h is null ? "–" : h.State.ToString().ToLowerInvariant() + (h.PausedUntil is { } paused ? " (paused until " + Time(paused) + ")" : string.Empty),
                total == 0 ? "–" : (100.0 * h!.Failures / total).ToString("0.#", CultureInfo.InvariantCulture) + $" % of {total}",
                h is null ? "–" : $"{h.LatencyP50Ms:0} / {h.LatencyP95Ms:0} ms",
                h is null ? "–" : h.RequestsThisMinute.ToString(CultureInfo.InvariantCulture) + (limits?.RequestsPerMinute is { } rpm ? $" of {rpm}" : string.Empty),
                h is null ? "–" : h.TokensThisMinute.ToString(CultureInfo.InvariantCulture) + (limits?.TokensPerMinute is { } tpm ? $" of {tpm}" : string.Empty),
                h is null ? "–" : h.ConcurrencySlotsLeased.ToString(CultureInfo.InvariantCulture) + (limits?.MaxConcurrency is { } mc ? $" of {mc}" : string.Empty),
                h?.LastFailureAt is { } at ? Time(at) + " " + h.LastFailureClass : "–",
                catalog.ResolveScope(v.Id) is { Enabled: true },
                v.Enabled);
        }).ToList();
    }

    /// <summary>One provider row as shown (and as the live refresh sends it).</summary>
    internal sealed record Row(string Id, string Type, string Enabled, string State, string FailureRatio, string Latency, string Requests, string Tokens, string Slots, string LastFailure, bool Configurable, bool On);
}
