using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Server-rendered HTML for the console: one layout (navigation, session, sign-out), encoding of every value that
/// reaches a page (<see cref="E(string?)"/>), the antiforgery field of forms, and the response headers every page gets
/// (no caching, a strict Content-Security-Policy allowing only the console's own script and style, no framing).
/// </summary>
internal static class Html
{
    private static readonly (string Path, string Label, bool AdminOnly)[] Nav =
    [
        ("/ui", "Overview", true),
        ("/ui/tenants", "Tenants", false),
        ("/ui/providers", "Providers", true),
        ("/ui/calls", "Call log", false),
        ("/ui/playground", "Playground", true),
        ("/ui/cluster/", "Cluster", true),
    ];

    /// <summary>HTML-encodes a value (null is empty).</summary>
    public static string E(string? value) => value is null ? string.Empty : HtmlEncoder.Default.Encode(value);

    public static string E(decimal value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    public static string E(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string E(double? value, string format = "0.#") => value?.ToString(format, CultureInfo.InvariantCulture) ?? "–";

    public static string Usd(decimal value) => "$" + value.ToString(value < 1 ? "0.######" : "#,0.00", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? value) => value is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "–";

    public static string Query(params (string Name, string? Value)[] values)
    {
        var parts = values.Where(v => !string.IsNullOrEmpty(v.Value)).Select(v => v.Name + "=" + Uri.EscapeDataString(v.Value!)).ToList();
        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }

    /// <summary>The hidden antiforgery field every console form carries.</summary>
    public static string Csrf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        return $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";
    }

    /// <summary>A POST form with its antiforgery field and one button.</summary>
    public static string Button(HttpContext http, string action, string label, string? confirm = null, string css = "") =>
        $"<form method=\"post\" action=\"{E(action)}\" class=\"inline\"{(confirm is null ? string.Empty : $" data-confirm=\"{E(confirm)}\"")}>{Csrf(http)}<button type=\"submit\" class=\"{css}\">{E(label)}</button></form>";

    /// <summary>A full page in the console's layout.</summary>
    public static IResult Page(HttpContext http, string title, string body, int status = StatusCodes.Status200OK, ConsoleSession? session = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        var sb = new StringBuilder(4096 + body.Length);
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append(" · LlmRouter console</title>")
            .Append("<link rel=\"stylesheet\" href=\"/ui/assets/console.css\"><script src=\"/ui/assets/console.js\" defer></script></head><body>")
            .Append("<a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">LlmRouter</span>");
        if (session is not null)
        {
            sb.Append("<nav aria-label=\"Console\"><ul>");
            var path = http.Request.Path.Value ?? "/ui";
            foreach (var (href, label, adminOnly) in Nav)
            {
                if (adminOnly && !session.IsAdmin)
                {
                    continue;
                }

                var target = !session.IsAdmin && href == "/ui/tenants" ? "/ui/tenants/" + Uri.EscapeDataString(session.TenantId ?? string.Empty) : href;
                var current = href == "/ui" ? path is "/ui" or "/ui/" : path.StartsWith(href.TrimEnd('/'), StringComparison.Ordinal);
                sb.Append("<li><a href=\"").Append(E(target)).Append('"').Append(current ? " aria-current=\"page\"" : string.Empty).Append('>').Append(E(label)).Append("</a></li>");
            }

            sb.Append("</ul></nav><div class=\"session\"><span>Signed in as <strong>").Append(E(session.Name)).Append("</strong></span>")
                .Append("<form method=\"post\" action=\"/ui/signout\">").Append(Csrf(http)).Append("<button type=\"submit\">Sign out</button></form></div>");
        }

        sb.Append("</header><main id=\"main\">").Append(body).Append("</main></body></html>");
        Secure(http.Response);
        return Results.Content(sb.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    /// <summary>Headers of every console response that shows data.</summary>
    public static void Secure(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers.CacheControl = "no-store";
        response.Headers["Content-Security-Policy"] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>A table with a caption and a header row; rows are already-encoded cells.</summary>
    public static string Table(string caption, string[] headers, IEnumerable<string[]> rows, string? id = null)
    {
        var sb = new StringBuilder("<div class=\"table-wrap\"><table").Append(id is null ? string.Empty : $" id=\"{E(id)}\"").Append("><caption>").Append(E(caption)).Append("</caption><thead><tr>");
        foreach (var h in headers)
        {
            sb.Append("<th scope=\"col\">").Append(E(h)).Append("</th>");
        }

        sb.Append("</tr></thead><tbody>");
        var any = false;
        foreach (var row in rows)
        {
            any = true;
            sb.Append("<tr>");
            foreach (var cell in row)
            {
                sb.Append("<td>").Append(cell).Append("</td>");
            }

            sb.Append("</tr>");
        }

        if (!any)
        {
            sb.Append("<tr><td colspan=\"").Append(headers.Length).Append("\" class=\"empty\">Nothing yet.</td></tr>");
        }

        return sb.Append("</tbody></table></div>").ToString();
    }

    /// <summary>A labelled form field; <paramref name="form"/> keeps element ids unique when a page has several forms with the same fields.</summary>
    public static string Field(string name, string label, string? value, string type = "text", string? hint = null, bool required = false, string? form = null)
    {
        var id = form is null ? name : form + "-" + name;
        return $"<label for=\"f-{E(id)}\">{E(label)}</label><input id=\"f-{E(id)}\" name=\"{E(name)}\" type=\"{E(type)}\" value=\"{E(value)}\"{(type == "number" ? " step=\"any\" min=\"0\"" : string.Empty)}{(required ? " required" : string.Empty)}{(hint is null ? string.Empty : $" aria-describedby=\"h-{E(id)}\"")}>"
            + (hint is null ? string.Empty : $"<small id=\"h-{E(id)}\">{E(hint)}</small>");
    }
}
