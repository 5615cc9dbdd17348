using System.Globalization;
using System.Text;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The overview (admin): calls per minute, spend in the range, today and this month (UTC), error rate by class,
/// p50/p95 latency and time to first token, top tenants and models by spend — over the last hour, day or 30 days.
/// Every figure is an aggregate the ledger computes over the range (<see cref="ILedger.StatsAsync"/>).
/// </summary>
internal static class OverviewPage
{
    public static async Task<IResult> RenderAsync(HttpContext http, ILedger ledger, string? range)
    {
        var session = http.Session();
        if (!session.IsAdmin)
        {
            return Results.Redirect("/ui/tenants/" + Uri.EscapeDataString(session.TenantId!));
        }

        var now = (http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        var (span, bucket, label) = range switch
        {
            "day" => (TimeSpan.FromDays(1), TimeSpan.FromMinutes(30), "last 24 hours"),
            "30d" => (TimeSpan.FromDays(30), TimeSpan.FromDays(1), "last 30 days"),
            _ => (TimeSpan.FromHours(1), TimeSpan.FromMinutes(1), "last hour"),
        };
        range = range is "day" or "30d" ? range : "hour";
        var ct = http.RequestAborted;
        var stats = await ledger.StatsAsync(new LedgerStatsQuery(now - span, now, bucket) { Top = 5 }, ct);
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var today = await ledger.StatsAsync(new LedgerStatsQuery(dayStart, now.AddTicks(1), TimeSpan.FromDays(1)) { Top = 1 }, ct);
        var month = await ledger.StatsAsync(new LedgerStatsQuery(monthStart, now.AddTicks(1), TimeSpan.FromDays(31)) { Top = 1 }, ct);

        var perMinute = bucket.TotalMinutes;
        var sb = new StringBuilder("<h1>Overview</h1>");
        sb.Append("<nav class=\"ranges\" aria-label=\"Range\">");
        foreach (var (key, text) in new[] { ("hour", "Last hour"), ("day", "Last day"), ("30d", "Last 30 days") })
        {
            sb.Append(CultureInfo.InvariantCulture, $"<a href=\"/ui?range={key}\"{(key == range ? " aria-current=\"true\"" : string.Empty)}>{text}</a>");
        }

        sb.Append("</nav><div class=\"cards\">");
        Card(sb, "calls", "Calls (" + label + ")", E(stats.Calls));
        Card(sb, "calls-per-minute", "Calls per minute", (stats.Calls / span.TotalMinutes).ToString("0.##", CultureInfo.InvariantCulture));
        Card(sb, "error-rate", "Error rate", stats.Calls == 0 ? "–" : (100.0 * stats.FailedCalls / stats.Calls).ToString("0.#", CultureInfo.InvariantCulture) + " %");
        Card(sb, "spend-range", "Spend (" + label + ")", Usd(stats.CostUsd));
        Card(sb, "spend-today", "Spend today (UTC)", Usd(today.CostUsd));
        Card(sb, "spend-month", "Spend this month (UTC)", Usd(month.CostUsd));
        Card(sb, "latency", "Latency p50 / p95", $"{E(stats.LatencyP50Ms, "0")} / {E(stats.LatencyP95Ms, "0")} ms");
        Card(sb, "ttft", "Time to first token p50 / p95", $"{E(stats.TtftP50Ms, "0")} / {E(stats.TtftP95Ms, "0")} ms");
        sb.Append("</div>");

        string Stamp(DateTimeOffset t) => bucket >= TimeSpan.FromDays(1) ? t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : t.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture);
        var series = Fill(stats.Buckets, now - span, now, bucket);
        sb.Append("<div class=\"grid\">");
        sb.Append(Svg.Bars("Calls per minute", series.Select(b => (Stamp(b.Start), b.Calls / perMinute, $"{b.Calls} calls, {b.FailedCalls} failed")).ToList(), "chart-calls"));
        sb.Append(Svg.Bars("Spend (USD)", series.Select(b => (Stamp(b.Start), (double)b.CostUsd, Usd(b.CostUsd))).ToList(), "chart-spend"));
        sb.Append(Svg.Ranking("Failed calls by error class", stats.ErrorsByClass.Select(e => (e.Name, (double)e.Count, $"{e.Count} ({(stats.Calls == 0 ? 0 : 100.0 * e.Count / stats.Calls).ToString("0.#", CultureInfo.InvariantCulture)} %)")).ToList(), "errors"));
        sb.Append(Svg.Ranking("Top tenants by spend", stats.TopTenants.Select(t => (t.Name, (double)t.CostUsd, $"{Usd(t.CostUsd)} · {t.Calls} calls")).ToList(), "top-tenants"));
        sb.Append(Svg.Ranking("Top models by spend", stats.TopModels.Select(t => (t.Name, (double)t.CostUsd, $"{Usd(t.CostUsd)} · {t.Calls} calls")).ToList(), "top-models"));
        sb.Append("</div>");
        return Page(http, "Overview", sb.ToString(), session: session);
    }

    private static void Card(StringBuilder sb, string id, string label, string value) =>
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"card\" id=\"card-{id}\"><span class=\"label\">{E(label)}</span><span class=\"value\">{value}</span></div>");

    /// <summary>Every bucket of the range, empty ones included, so the time axis is even.</summary>
    private static List<StatsBucket> Fill(IReadOnlyList<StatsBucket> buckets, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket)
    {
        var byStart = buckets.ToDictionary(b => b.Start.UtcTicks);
        var list = new List<StatsBucket>();
        var start = from.UtcTicks / bucket.Ticks * bucket.Ticks;
        for (var t = start; t < to.UtcTicks; t += bucket.Ticks)
        {
            list.Add(byStart.TryGetValue(t, out var b) ? b : new StatsBucket(new DateTimeOffset(t, TimeSpan.Zero), 0, 0, 0m));
        }

        return list;
    }
}
