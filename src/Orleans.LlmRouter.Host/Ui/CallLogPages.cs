using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Orleans.LlmRouter.Host.Admin;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The call log: the ledger newest first, filtered by tenant, project, key, end user, model, provider, action, tag, run, success and time
/// range, in keyset pages (<see cref="ILedger.PageAsync"/>); a call's detail; CSV of the filtered view (the usage
/// export's columns, at most <see cref="CsvMaxRows"/> rows). A tenant session sees its own tenant's calls only.
/// </summary>
internal static class CallLogPages
{
    public const int CsvMaxRows = 100_000;

    private const int PageSize = 50;

    private static readonly string[] FilterNames = ["tenant", "project", "key", "end_user", "model", "provider", "action", "tag", "run", "success", "from", "to"];

    public static async Task<IResult> ListAsync(HttpContext http, ILedger ledger)
    {
        var session = http.Session();
        if (!TryQuery(http, session, out var query, out var error))
        {
            return Page(http, "Call log", $"<h1>Call log</h1><p class=\"error\" role=\"alert\">{E(error)}</p>", StatusCodes.Status400BadRequest, session);
        }

        var page = await ledger.PageAsync(query with { Limit = PageSize }, http.RequestAborted);
        var q = http.Request.Query;
        var sb = new StringBuilder("<h1>Call log</h1>");
        sb.Append("<form method=\"get\" action=\"/ui/calls\" class=\"filters\" aria-label=\"Filters\">");
        if (session.IsAdmin)
        {
            sb.Append(Field("tenant", "Tenant", q["tenant"]));
        }

        sb.Append(Field("project", "Project", q["project"])).Append(Field("key", "Key id", q["key"])).Append(Field("end_user", "End user", q["end_user"]));
        sb.Append(Field("model", "Model", q["model"])).Append(Field("provider", "Provider", q["provider"])).Append(Field("action", "Action", q["action"]))
            .Append(Field("tag", "Tag", q["tag"])).Append(Field("run", "Run", q["run"]));
        var success = q["success"].ToString();
        sb.Append("<label for=\"f-success\">Outcome</label><select id=\"f-success\" name=\"success\">");
        foreach (var (value, text) in new[] { (string.Empty, "any"), ("true", "succeeded"), ("false", "failed") })
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{value}\"{(value == success ? " selected" : string.Empty)}>{text}</option>");
        }

        sb.Append("</select>").Append(Field("from", "From (UTC)", q["from"], "datetime-local")).Append(Field("to", "To (UTC)", q["to"], "datetime-local"));
        sb.Append("<button type=\"submit\">Filter</button></form>");
        var filters = Filters(http);
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls.csv{E(Html.Query(filters))}\" id=\"csv\">Export this view as CSV</a></p>");
        sb.Append(Table("Calls, newest first", page, showTenant: session.IsAdmin));
        if (page.Count == PageSize)
        {
            var last = page[^1];
            var next = filters.Append(("before_at", last.CompletedAt.ToString("O", CultureInfo.InvariantCulture))).Append(("before_id", last.RequestId)).ToArray();
            sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls{E(Html.Query(next))}\" id=\"older\">Older calls</a></p>");
        }

        return Page(http, "Call log", sb.ToString(), session: session);
    }

    public static async Task<IResult> DetailAsync(HttpContext http, string requestId, ILedger ledger)
    {
        var session = http.Session();
        var rows = await ledger.PageAsync(new CallLogQuery { RequestId = requestId, TenantId = session.IsAdmin ? null : session.TenantId, Limit = 1 }, http.RequestAborted);
        if (rows.Count == 0)
        {
            return Page(http, "Not found", $"<h1>Not found</h1><p>No call {E(requestId)} in this session's view of the ledger.</p>", StatusCodes.Status404NotFound, session);
        }

        var r = rows[0];
        var items = new (string, string)[]
        {
            ("Request id", $"<code>{E(r.RequestId)}</code>"), ("Tenant", $"<a href=\"/ui/tenants/{E(Uri.EscapeDataString(r.TenantId))}\">{E(r.TenantId)}</a>"),
            ("Outcome", r.Success ? "succeeded" : "failed: " + E(r.ErrorClass)), ("Attempts", E(r.Attempts)), ("Model", E(r.Model)), ("Provider", E(r.Provider)),
            ("Deployment", E(r.Deployment ?? "–")), ("Action", E(r.Action ?? "–")), ("Strategy", E(r.Strategy ?? "–")), ("Run", E(r.RunId ?? "–")),
            ("Tags", E(r.Tags.Count == 0 ? "–" : string.Join(", ", r.Tags))),
            ("Project", Level(r.TenantId, "project", r.ProjectId)), ("Key", Level(r.TenantId, "key", r.KeyId)), ("End user", Level(r.TenantId, "end_user", r.EndUser)), ("Prompt tokens", E(r.PromptTokens)), ("Cached prompt tokens", E(r.CachedTokens)),
            ("Cache-write tokens (1 h)", $"{E(r.CacheWriteTokens)} ({E(r.CacheWrite1hTokens)})"), ("Completion tokens", E(r.CompletionTokens)),
            ("Reasoning tokens", E(r.ReasoningTokens)), ("Usage", r.UsageEstimated ? "estimated by the gateway (the provider reported none)" : "reported by the provider"),
            ("Cost", Usd(r.CostUsd)),
            ("Response cache", r.Cache is null ? "not used" : E(r.Cache) + (r.IsCacheHit ? ", saved " + Usd(r.SavedUsd) : string.Empty)),
            ("Latency", E(r.LatencyMs, "0.#") + " ms"), ("Time to first token", E(r.TimeToFirstTokenMs, "0.#") + (r.TimeToFirstTokenMs is null ? string.Empty : " ms")),
            ("Started", Time(r.StartedAt)), ("Completed", Time(r.CompletedAt)), ("Trace id", r.TraceId is null ? "–" : $"<code>{E(r.TraceId)}</code>"),
        };
        var sb = new StringBuilder($"<h1>Call {E(r.RequestId)}</h1><dl class=\"detail\">");
        foreach (var (term, value) in items)
        {
            sb.Append("<dt>").Append(E(term)).Append("</dt><dd>").Append(value).Append("</dd>");
        }

        sb.Append("</dl>");
        if (r.AttemptLog is { Count: > 0 } attempts)
        {
            sb.Append("<h2>Attempts</h2><table id=\"attempts\"><thead><tr><th>#</th><th>Model</th><th>Provider</th><th>Deployment</th><th>Outcome</th><th>Latency</th></tr></thead><tbody>");
            for (var i = 0; i < attempts.Count; i++)
            {
                var a = attempts[i];
                var outcome = a.ErrorClass is null ? "answered" : $"<span class=\"bad\">{E(a.ErrorClass)}</span>";
                sb.Append("<tr><td>").Append(i + 1).Append("</td><td>").Append(E(a.Model)).Append("</td><td>").Append(E(a.Provider)).Append("</td><td>")
                    .Append(E(a.Deployment ?? "–")).Append("</td><td>").Append(outcome).Append("</td><td>").Append(E(a.LatencyMs, "0.#")).Append(" ms</td></tr>");
            }

            sb.Append("</tbody></table><p class=\"muted\">The provider's message for each failed attempt is in the gateway's log lines of this trace.</p>");
        }
        else
        {
            sb.Append("<p class=\"muted\">No attempts recorded for this call (answered from the response cache, or recorded before attempts were kept).</p>");
        }
        return Page(http, "Call " + r.RequestId, sb.ToString(), session: session);
    }

    public static async Task<IResult> CsvAsync(HttpContext http, ILedger ledger)
    {
        var session = http.Session();
        if (!TryQuery(http, session, out var query, out var error))
        {
            return Results.Problem(error, statusCode: StatusCodes.Status400BadRequest);
        }

        Secure(http.Response);
        await AdminEndpoints.WriteCsvAsync(http, AllAsync(ledger, query, http.RequestAborted), $"calls-{(query.TenantId ?? "all")}.csv");
        return Results.Empty;
    }

    /// <summary>A level a call was made under, linked to the call log filtered by it ("–" for none).</summary>
    private static string Level(string tenantId, string filter, string? id) =>
        id is null ? "–" : $"<a href=\"/ui/calls{E(Html.Query(("tenant", tenantId), (filter, id)))}\">{E(id)}</a>";

    /// <summary>The rows of a call table (shared with the tenant page).</summary>
    public static string Table(string caption, IReadOnlyList<LedgerRecord> rows, bool showTenant)
    {
        string[] headers = showTenant
            ? ["Completed (UTC)", "Tenant", "Model", "Provider", "Action", "Tokens in / out", "Cost", "Latency", "TTFT", "Outcome", "Attempts"]
            : ["Completed (UTC)", "Model", "Provider", "Action", "Tokens in / out", "Cost", "Latency", "TTFT", "Outcome", "Attempts"];
        return Html.Table(caption, headers, rows.Select(r =>
        {
            var cells = new List<string> { $"<a href=\"/ui/calls/{E(Uri.EscapeDataString(r.RequestId))}\">{Time(r.CompletedAt)}</a>" };
            if (showTenant)
            {
                cells.Add(E(r.TenantId));
            }

            cells.AddRange([E(r.Model), E(r.Provider), E(r.Action ?? "–"), $"{E(r.PromptTokens)} / {E(r.CompletionTokens)}", Usd(r.CostUsd), E(r.LatencyMs, "0") + " ms",
                r.TimeToFirstTokenMs is null ? "–" : E(r.TimeToFirstTokenMs, "0") + " ms", r.Success ? "ok" : $"<span class=\"bad\">{E(r.ErrorClass ?? "failed")}</span>", E(r.Attempts)]);
            return cells.ToArray();
        }), "calls");
    }

    private static async IAsyncEnumerable<LedgerRecord> AllAsync(ILedger ledger, CallLogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var sent = 0;
        var q = query with { Limit = CallLogQuery.MaxLimit };
        while (sent < CsvMaxRows)
        {
            var page = await ledger.PageAsync(q, cancellationToken);
            foreach (var r in page.Take(CsvMaxRows - sent))
            {
                sent++;
                yield return r;
            }

            if (page.Count < q.Limit)
            {
                yield break;
            }

            q = q with { Before = CallCursor.Of(page[^1]) };
        }
    }

    private static (string Name, string? Value)[] Filters(HttpContext http)
    {
        var q = http.Request.Query;
        return FilterNames.Select(n => (n, (string?)q[n].FirstOrDefault())).Where(p => !string.IsNullOrEmpty(p.Item2)).ToArray();
    }

    private static bool TryQuery(HttpContext http, ConsoleSession session, out CallLogQuery query, out string error)
    {
        var q = http.Request.Query;
        error = string.Empty;
        query = new CallLogQuery();
        static string? S(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();
        var errors = new List<string>();
        DateTimeOffset? When(string name)
        {
            var v = S(q[name]);
            if (v is null)
            {
                return null;
            }

            if (DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var t))
            {
                return t;
            }

            errors.Add($"{name} is not a date and time.");
            return null;
        }

        bool? success = S(q["success"]) switch { null => null, "true" => true, "false" => false, _ => null };
        var beforeAt = When("before_at");
        var beforeId = S(q["before_id"]);
        query = new CallLogQuery
        {
            // A tenant session is confined to its tenant whatever the query says.
            TenantId = session.IsAdmin ? S(q["tenant"]) : session.TenantId,
            Model = S(q["model"]),
            Provider = S(q["provider"]),
            Action = S(q["action"]),
            Tag = S(q["tag"]),
            RunId = S(q["run"]),
            ProjectId = S(q["project"]),
            KeyId = S(q["key"]),
            EndUser = S(q["end_user"]),
            Success = success,
            From = When("from"),
            To = When("to"),
            Before = beforeAt is { } at && beforeId is not null ? new CallCursor(at, beforeId) : null,
        };
        if (errors.Count > 0)
        {
            error = string.Join(" ", errors);
            return false;
        }

        return true;
    }
}
