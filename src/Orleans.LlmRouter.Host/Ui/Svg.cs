using System.Globalization;
using System.Text;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Inline SVG charts (no script, no external asset): vertical bars over time, bars stacked by series, horizontal
/// ranking bars and budget gauges. Every chart is an image with a text alternative, and every bar has a tooltip title.
/// </summary>
internal static class Svg
{
    /// <summary>Colour-blind-safe series colours (Okabe–Ito), all with 3:1 contrast against the white background.</summary>
    private static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8B6A00", "#56B4E9", "#6B3FA0", "#666666"];

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Vertical bars, one per bucket, labelled at both ends of the axis.</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double Value, string Tip)> bars, string id)
    {
        const double width = 640, height = 160;
        var max = bars.Count == 0 ? 0 : bars.Max(b => b.Value);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<figure class=\"chart\" id=\"{E(id)}\"><figcaption>{E(title)}</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {N(width)} {N(height)}\" role=\"img\" aria-label=\"{E(title)}: {bars.Count} bars, highest {N(max)}\" preserveAspectRatio=\"none\">");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{N(height)}\" x2=\"{N(width)}\" y2=\"{N(height)}\" stroke=\"#555\"/>");
        if (bars.Count > 0 && max > 0)
        {
            var step = width / bars.Count;
            for (var i = 0; i < bars.Count; i++)
            {
                var h = bars[i].Value / max * (height - 4);
                sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{N((i * step) + 1)}\" y=\"{N(height - h)}\" width=\"{N(Math.Max(1, step - 2))}\" height=\"{N(h)}\" fill=\"{Palette[0]}\" data-value=\"{N(bars[i].Value)}\"><title>{E(bars[i].Label)}: {E(bars[i].Tip)}</title></rect>");
            }

        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(width / 2)}\" y=\"{N(height / 2)}\" text-anchor=\"middle\" class=\"axis\">No calls in this range</text>");
        }

        sb.Append("</svg>");
        return sb.Append(Axis(bars.Count == 0 ? null : bars[0].Label, bars.Count == 0 ? null : bars[^1].Label)).Append("</figure>").ToString();
    }

    private static string Axis(string? first, string? last) =>
        first is null ? string.Empty : $"<div class=\"axis-labels\" aria-hidden=\"true\"><span>{E(first)}</span><span>{E(last)}</span></div>";

    /// <summary>Bars stacked by series (e.g. a tenant's spend per day by model), with a legend.</summary>
    public static string Stacked(string title, IReadOnlyList<string> columns, IReadOnlyList<string> series, Func<string, string, decimal> value, string id)
    {
        const double width = 640, height = 180;
        var totals = columns.Select(c => series.Sum(s => value(c, s))).ToList();
        var max = totals.Count == 0 ? 0m : totals.Max();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<figure class=\"chart\" id=\"{E(id)}\" data-total=\"{E(totals.Sum())}\"><figcaption>{E(title)}</figcaption>");
        sb.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {N(width)} {N(height)}\" role=\"img\" aria-label=\"{E(title)}: total {E(Usd(totals.Sum()))} over {columns.Count} days\" preserveAspectRatio=\"none\">");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{N(height)}\" x2=\"{N(width)}\" y2=\"{N(height)}\" stroke=\"#555\"/>");
        if (columns.Count > 0 && max > 0)
        {
            var step = width / columns.Count;
            for (var i = 0; i < columns.Count; i++)
            {
                var y = height;
                for (var j = 0; j < series.Count; j++)
                {
                    var v = value(columns[i], series[j]);
                    if (v <= 0)
                    {
                        continue;
                    }

                    var h = (double)(v / max) * (height - 4);
                    y -= h;
                    sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{N((i * step) + 1)}\" y=\"{N(y)}\" width=\"{N(Math.Max(1, step - 2))}\" height=\"{N(h)}\" fill=\"{Palette[j % Palette.Length]}\" data-series=\"{E(series[j])}\" data-value=\"{E(v)}\"><title>{E(columns[i])} {E(series[j])}: {E(Usd(v))}</title></rect>");
                }
            }

        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(width / 2)}\" y=\"{N(height / 2)}\" text-anchor=\"middle\" class=\"axis\">No spend in this range</text>");
        }

        sb.Append("</svg>").Append(Axis(columns.Count == 0 ? null : columns[0], columns.Count == 0 ? null : columns[^1])).Append("<ul class=\"legend\">");
        for (var j = 0; j < series.Count; j++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"{Palette[j % Palette.Length]}\"/></svg>{E(series[j])}</li>");
        }

        return sb.Append("</ul></figure>").ToString();
    }

    /// <summary>Horizontal bars ranking names by a value (top tenants, models, error classes).</summary>
    public static string Ranking(string title, IReadOnlyList<(string Name, double Value, string Text)> rows, string id)
    {
        var max = rows.Count == 0 ? 0 : rows.Max(r => r.Value);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<figure class=\"ranking\" id=\"{E(id)}\"><figcaption>{E(title)}</figcaption>");
        if (rows.Count == 0)
        {
            sb.Append("<p class=\"empty\">Nothing in this range.</p>");
        }
        else
        {
            sb.Append("<ol>");
            foreach (var (name, v, text) in rows)
            {
                var w = max > 0 ? v / max * 200 : 0;
                sb.Append(CultureInfo.InvariantCulture, $"<li><span class=\"name\">{E(name)}</span><svg width=\"200\" height=\"12\" aria-hidden=\"true\"><rect width=\"{N(Math.Max(w, 1))}\" height=\"12\" fill=\"{Palette[0]}\"/></svg><span class=\"value\">{E(text)}</span></li>");
            }

            sb.Append("</ol>");
        }

        return sb.Append("</figure>").ToString();
    }

    /// <summary>A budget gauge: used against the limit of one window and unit, with the remaining amount.</summary>
    public static string Gauge(string label, decimal used, decimal limit, string unit)
    {
        var fraction = limit > 0 ? Math.Min(1m, used / limit) : 1m;
        var percent = (double)(limit > 0 ? used / limit * 100m : 100m);
        var state = percent >= 100 ? "full" : percent >= 80 ? "high" : "ok";
        string F(decimal v) => unit == "usd" ? Usd(v) : v.ToString("#,0", CultureInfo.InvariantCulture) + " tokens";
        var text = $"{F(used)} of {F(limit)} ({percent.ToString("0.#", CultureInfo.InvariantCulture)} %), {F(Math.Max(0, limit - used))} left";
        return $"<div class=\"gauge {state}\" data-window=\"{E(label)}\" data-unit=\"{E(unit)}\" data-used=\"{E(used)}\" data-limit=\"{E(limit)}\" data-percent=\"{percent.ToString("0.##", CultureInfo.InvariantCulture)}\">"
            + $"<span class=\"gauge-label\">{E(label)} {E(unit)}</span>"
            + $"<svg width=\"160\" height=\"14\" role=\"img\" aria-label=\"{E(label)} {E(unit)}: {E(text)}\"><rect width=\"160\" height=\"14\" fill=\"#e3e6ea\"/><rect width=\"{N((double)fraction * 160)}\" height=\"14\" class=\"fill\"/></svg>"
            + $"<span class=\"gauge-text\">{E(text)}</span></div>";
    }
}
