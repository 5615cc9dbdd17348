using System.Globalization;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Host.Surfaces;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The playground (admin): a chat request as a chosen tenant, either dry-run (the router grain's explanation, what
/// <c>POST /api/v1/route</c> answers) or sent for real through the router grain — the tenant's budget, limits and the
/// ledger apply as to any call — showing the route decision, fallbacks, estimated and actual cost.
/// </summary>
internal static class PlaygroundPage
{
    public static async Task<IResult> RenderAsync(HttpContext http, string? result, FormValues? values = null)
    {
        var directory = http.RequestServices.GetRequiredService<TenantDirectory>();
        var catalog = http.RequestServices.GetRequiredService<ModelCatalog>();
        var tenants = (await directory.AllAsync()).Select(t => t.Id).Order(StringComparer.Ordinal).ToList();
        var v = values ?? new FormValues(tenants.FirstOrDefault() ?? string.Empty, "auto", "Say hello in five words.", "64");
        var models = Enumerable.Repeat("auto", 1).Concat(catalog.Actions.Keys.Order(StringComparer.Ordinal).Select(a => "action:" + a))
            .Concat(catalog.Models.Values.Where(m => m.Capabilities.Contains(Capability.Chat)).Select(m => m.Name).Order(StringComparer.Ordinal));
        var sb = new StringBuilder("<h1>Playground</h1><form method=\"post\" action=\"/ui/playground\" class=\"settings\">").Append(Csrf(http));
        sb.Append("<label for=\"f-tenant\">Tenant</label><select id=\"f-tenant\" name=\"tenant\">");
        foreach (var t in tenants)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option{(t == v.Tenant ? " selected" : string.Empty)}>{E(t)}</option>");
        }

        sb.Append("</select><label for=\"f-model\">Model</label><select id=\"f-model\" name=\"model\">");
        foreach (var m in models)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option{(m == v.Model ? " selected" : string.Empty)}>{E(m)}</option>");
        }

        sb.Append("</select><label for=\"f-prompt\">Message</label><textarea id=\"f-prompt\" name=\"prompt\" rows=\"4\">").Append(E(v.Prompt)).Append("</textarea>");
        sb.Append(Field("max_tokens", "Max output tokens", v.MaxTokens, "number"));
        sb.Append("<div class=\"buttons\"><button type=\"submit\" name=\"mode\" value=\"dry\">Dry run</button><button type=\"submit\" name=\"mode\" value=\"send\">Send as the tenant</button></div></form>");
        if (result is not null)
        {
            sb.Append("<section id=\"result\" aria-live=\"polite\"><h2>Result</h2>").Append(result).Append("</section>");
        }

        return Page(http, "Playground", sb.ToString(), session: http.Session());
    }

    public static async Task<IResult> RunAsync(HttpContext http, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var values = new FormValues(form["tenant"].ToString(), form["model"].ToString(), form["prompt"].ToString(), form["max_tokens"].ToString());
        if (await directory.GetAsync(values.Tenant) is not { } tenant)
        {
            return await RenderAsync(http, $"<p class=\"error\" role=\"alert\">Tenant {E(values.Tenant)} does not exist.</p>", values);
        }

        string result;
        try
        {
            // The same parser and routing hints as POST /v1/chat/completions and POST /api/v1/route.
            var body = JsonSerializer.SerializeToElement(new Dictionary<string, object?>
            {
                ["model"] = values.Model,
                ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = values.Prompt } },
                ["max_tokens"] = int.TryParse(values.MaxTokens, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0 ? max : null,
            });
            var parsed = OpenAiRequestParser.Parse(body);
            var context = RoutingHeaders.From(http, tenant, parsed.Model);
            var router = grains.GetRouter();
            var explained = await router.ExplainAsync(parsed.Request, context);
            result = Explanation(explained);
            if (form["mode"] == "send")
            {
                var done = await router.CompleteAsync(parsed.Request, context, http.RequestAborted);
                result += $"<h3>Answer</h3><p id=\"answer\">{E(done.Message.Text)}</p><dl class=\"detail\"><dt>Model</dt><dd>{E(done.Model)} on {E(done.Provider)}</dd>"
                    + $"<dt>Tokens</dt><dd>{E(done.Usage.PromptTokens)} in, {E(done.Usage.CompletionTokens)} out</dd><dt>Actual cost</dt><dd id=\"actual-cost\">{Usd(done.CostUsd)}</dd>"
                    + $"<dt>Attempts</dt><dd>{E(string.Join("; ", done.Attempts.Select(a => $"{a.Model}@{a.Provider}: {(a.ErrorClass is null ? "ok" : a.ErrorClass.ToString())}")))}</dd><dt>Latency</dt><dd>{E(done.LatencyMs, "0")} ms</dd></dl>";
            }
        }
        catch (Exception ex) when (ex is InvalidRequestException or InvalidRoutingException or BudgetExceededException or AllModelsFailedException or TenantRateLimitedException)
        {
            result = $"<p class=\"error\" role=\"alert\">{E(ex.GetType().Name)}: {E(ex.Message)}</p>";
        }

        return await RenderAsync(http, result, values);
    }

    private static string Explanation(RouteExplanation x) =>
        $"<h3>Route decision</h3><dl class=\"detail\"><dt>Chosen model</dt><dd id=\"chosen\">{E(x.ChosenModel ?? "none")}</dd><dt>Fallbacks</dt><dd>{E(x.Fallbacks.Count == 0 ? "–" : string.Join(", ", x.Fallbacks))}</dd>"
        + $"<dt>Estimated prompt tokens</dt><dd>{E(x.EstimatedPromptTokens)}</dd><dt>Reserved output tokens</dt><dd>{E(x.ReservedOutputTokens)}</dd><dt>Estimated cost</dt><dd id=\"estimated-cost\">{Usd(x.EstimatedCostUsd)}</dd></dl>"
        + Table("Candidates", ["Model", "Provider", "Eligible", "Reason", "Estimated cost"], x.Candidates.Select(c => new[] { E(c.Model), E(c.Provider), c.Eligible ? "yes" : "no", E(c.Reason), Usd(c.EstimatedCostUsd) }));

    internal sealed record FormValues(string Tenant, string Model, string Prompt, string MaxTokens);
}
