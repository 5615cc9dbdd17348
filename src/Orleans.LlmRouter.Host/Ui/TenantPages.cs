using System.Globalization;
using System.Text;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Tenants: the list with today's spend and a gauge per budget window; a tenant's page with its gauges, spend per
/// day stacked by model (30 days), recent calls and keys; creating and editing a tenant (budgets, limits, allowed
/// models and actions, alert threshold and webhook); revoking keys. The levels below a tenant (projects, keys with
/// their settings, end users) are <see cref="LevelPages"/>' sections of the tenant page. Reads and writes go to the
/// tenant registry grain, the tenant directory, the budget grains and the ledger — what <c>/api/v1/tenants</c> uses.
/// </summary>
internal static class TenantPages
{
    private const int PageSize = 50;

    public static async Task<IResult> ListAsync(HttpContext http, IGrainFactory grains, TenantDirectory directory, int? page)
    {
        var managed = (await grains.GetTenantRegistry().GetSnapshotAsync()).Tenants.ToDictionary(t => t.Settings.Id, StringComparer.Ordinal);
        var all = (await directory.AllAsync()).OrderBy(t => t.Id, StringComparer.Ordinal).ToList();
        var p = Math.Max(0, page ?? 0);
        var shown = all.Skip(p * PageSize).Take(PageSize).ToList();
        var usages = await Task.WhenAll(shown.Select(t => grains.GetTenantBudget(t.Id).GetUsageAsync()));
        var rows = shown.Zip(usages).Select(x =>
        {
            var (t, usage) = x;
            var daily = usage.Windows.FirstOrDefault(w => w.Window == "daily");
            return new[]
            {
                $"<a href=\"/ui/tenants/{E(Uri.EscapeDataString(t.Id))}\">{E(t.Id)}</a>",
                E(t.DisplayName),
                managed.ContainsKey(t.Id) ? "admin API" : "YAML",
                Usd(daily?.CostUsd ?? 0m),
                Gauges(usage),
            };
        });
        var sb = new StringBuilder("<h1>Tenants</h1>");
        sb.Append(Table($"Tenants {p * PageSize + 1}–{p * PageSize + shown.Count} of {all.Count}", ["Tenant", "Name", "Managed by", "Spend today", "Budgets"], rows, "tenants"));
        if ((p + 1) * PageSize < all.Count)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/tenants?page={p + 1}\">Next page</a></p>");
        }

        sb.Append("<h2>New tenant</h2>").Append(SettingsForm(http, "/ui/tenants", null, "Create tenant"));
        return Page(http, "Tenants", sb.ToString(), session: http.Session());
    }

    public static async Task<IResult> TenantAsync(HttpContext http, string id, IGrainFactory grains, TenantDirectory directory, ILedger ledger)
    {
        var session = http.Session();
        if (!session.MayRead(id))
        {
            return ConsoleEndpoints.Denied(http);
        }

        var managed = await grains.GetTenantRegistry().GetAsync(id);
        var yaml = managed is null ? await directory.GetAsync(id) : null;
        if (managed is null && yaml is null)
        {
            return Page(http, "Not found", $"<h1>Not found</h1><p>Tenant {E(id)} does not exist.</p>", StatusCodes.Status404NotFound, session);
        }

        var ct = http.RequestAborted;
        var now = (http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        var usage = await grains.GetTenantBudget(id).GetUsageAsync();
        var from = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(-29);
        var spend = await ledger.SpendByDayAndModelAsync(id, from, now.AddTicks(1), ct);
        var recent = await ledger.PageAsync(new CallLogQuery { TenantId = id, Limit = 20 }, ct);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<h1>Tenant {E(id)}</h1>");
        if ((managed?.Settings.Name ?? yaml?.DisplayName) is { } name)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"subtitle\">{E(name)}</p>");
        }

        sb.Append("<section aria-labelledby=\"budgets-h\"><h2 id=\"budgets-h\">Budgets</h2>").Append(Gauges(usage));
        sb.Append(CultureInfo.InvariantCulture, $"<p>In flight: {usage.ReservationsInFlight} reservations, {E(usage.ReservedTokens)} tokens, {Usd(usage.ReservedUsd)}.</p></section>");

        var days = Enumerable.Range(0, 30).Select(i => DateOnly.FromDateTime(from.UtcDateTime).AddDays(i)).ToList();
        var models = spend.Select(s => s.Model).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var byKey = spend.ToDictionary(s => (s.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), s.Model), s => s.CostUsd);
        sb.Append(Svg.Stacked("Spend per day by model (last 30 days, UTC)", days.Select(d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList(), models,
            (day, model) => byKey.GetValueOrDefault((day, model)), "tenant-spend"));

        sb.Append(CallLogPages.Table("Recent calls", recent, showTenant: false));
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls?tenant={E(Uri.EscapeDataString(id))}\">All calls of {E(id)}</a></p>");

        if (managed is not null)
        {
            sb.Append(LevelPages.Sections(http, session, managed, usage, now));
            if (session.IsAdmin)
            {
                sb.Append("<section><h2>Settings</h2>").Append(SettingsForm(http, $"/ui/tenants/{Uri.EscapeDataString(id)}", managed.Settings, "Save settings")).Append("</section>");
            }
        }
        else
        {
            sb.Append(LevelPages.UsageOnly(usage));
            sb.Append("<p>This tenant comes from the YAML configuration: edit it there.</p>");
        }

        return Page(http, "Tenant " + id, sb.ToString(), session: session);
    }

    public static async Task<IResult> CreateAsync(HttpContext http, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var id = form["id"].ToString().Trim();
        if (!TryRead(form, new TenantSettings { Id = id }, out var settings, out var error))
        {
            return Error(http, error);
        }

        try
        {
            var registry = grains.GetTenantRegistry();
            await registry.PutAsync(settings, create: true);
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Error(http, ex.Message);
        }

        return Results.Redirect("/ui/tenants/" + Uri.EscapeDataString(id));
    }

    public static async Task<IResult> UpdateAsync(HttpContext http, string id, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var registry = grains.GetTenantRegistry();
        if (await registry.GetAsync(id) is not { } existing)
        {
            return Error(http, $"Tenant '{id}' is not managed through the admin API.", StatusCodes.Status404NotFound);
        }

        if (!TryRead(form, existing.Settings, out var settings, out var error))
        {
            return Error(http, error);
        }

        try
        {
            await registry.PutAsync(settings, create: false);
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Error(http, ex.Message);
        }

        return Results.Redirect("/ui/tenants/" + Uri.EscapeDataString(id));
    }

    public static async Task<IResult> RevokeKeyAsync(HttpContext http, string id, string keyId, IGrainFactory grains, TenantDirectory directory)
    {
        try
        {
            await grains.GetTenantRegistry().RevokeKeyAsync(id, keyId);
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Error(http, ex.Message);
        }

        return Results.Redirect("/ui/tenants/" + Uri.EscapeDataString(id));
    }

    /// <summary>The gauges of every window that has a limit (tokens or USD).</summary>
    public static string Gauges(TenantUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var sb = new StringBuilder("<div class=\"gauges\">");
        var any = false;
        foreach (var w in usage.Windows.Where(w => w.Window != "run"))
        {
            if (w.TokenLimit is { } tl)
            {
                sb.Append(Svg.Gauge(w.Window, w.Tokens, tl, "tokens"));
                any = true;
            }

            if (w.CostLimitUsd is { } cl)
            {
                sb.Append(Svg.Gauge(w.Window, w.CostUsd, cl, "usd"));
                any = true;
            }
        }

        return sb.Append(any ? string.Empty : "<span class=\"muted\">no budget</span>").Append("</div>").ToString();
    }

    private static IResult Error(HttpContext http, string message, int status = StatusCodes.Status400BadRequest) =>
        Page(http, "Not saved", $"<h1>Not saved</h1><p class=\"error\" role=\"alert\">{E(message)}</p><p><a href=\"/ui/tenants\">Back to the tenants</a></p>", status, http.Session());

    private static string SettingsForm(HttpContext http, string action, TenantSettings? s, string submit)
    {
        var b = s?.Budgets ?? new TenantBudgetLimits();
        static string? D(decimal? v) => v?.ToString(CultureInfo.InvariantCulture);
        static string? L(long? v) => v?.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder($"<form method=\"post\" action=\"{E(action)}\" class=\"settings\">{Csrf(http)}");
        sb.Append(s is null ? Field("id", "Tenant id", null, required: true, hint: "1-64 letters, digits, '.', '_' or '-'") : string.Empty);
        sb.Append(Field("name", "Display name", s?.Name));
        sb.Append("<fieldset><legend>Budgets (empty for none)</legend>");
        sb.Append(Field("dailyUsd", "Daily USD", D(b.DailyUsd), "number")).Append(Field("monthlyUsd", "Monthly USD", D(b.MonthlyUsd), "number")).Append(Field("lifetimeUsd", "Lifetime USD", D(b.LifetimeUsd), "number"));
        sb.Append(Field("dailyTokens", "Daily tokens", L(b.DailyTokens), "number")).Append(Field("monthlyTokens", "Monthly tokens", L(b.MonthlyTokens), "number")).Append(Field("lifetimeTokens", "Lifetime tokens", L(b.LifetimeTokens), "number"));
        sb.Append("</fieldset><fieldset><legend>Limits and access</legend>");
        sb.Append(Field("requestsPerMinute", "Requests per minute", s?.RequestsPerMinute?.ToString(CultureInfo.InvariantCulture), "number"));
        sb.Append(Field("tokensPerMinute", "Tokens per minute", L(s?.TokensPerMinute), "number"));
        sb.Append(Field("allowedModels", "Allowed models", s is null ? null : string.Join(", ", s.AllowedModels), hint: "comma-separated; empty allows every model"));
        sb.Append(Field("allowedActions", "Allowed actions", s is null ? null : string.Join(", ", s.AllowedActions), hint: "comma-separated; empty allows every action"));
        sb.Append("</fieldset><fieldset><legend>Alerts</legend>");
        sb.Append(Field("softAlertThreshold", "Soft alert threshold", D(s?.SoftAlertThreshold ?? 0.8m), "number", "fraction of a limit, above 0 and at most 1"));
        sb.Append(Field("alertWebhook", "Alert webhook", s?.AlertWebhook, "url", "http(s) URL the alert is POSTed to; empty for log only"));
        sb.Append("</fieldset>");
        return sb.Append(CultureInfo.InvariantCulture, $"<button type=\"submit\">{E(submit)}</button></form>").ToString();
    }

    /// <summary>The settings a form describes, on top of the existing ones (windows the form does not show are kept).</summary>
    private static bool TryRead(IFormCollection form, TenantSettings existing, out TenantSettings settings, out string error)
    {
        settings = existing;
        error = string.Empty;
        var f = new FormReader(form);
        var result = existing with
        {
            Name = f.Text("name"),
            Budgets = existing.Budgets with
            {
                DailyUsd = f.Decimal("dailyUsd"),
                MonthlyUsd = f.Decimal("monthlyUsd"),
                LifetimeUsd = f.Decimal("lifetimeUsd"),
                DailyTokens = f.Whole("dailyTokens"),
                MonthlyTokens = f.Whole("monthlyTokens"),
                LifetimeTokens = f.Whole("lifetimeTokens"),
            },
            RequestsPerMinute = (int?)f.Whole("requestsPerMinute", int.MaxValue),
            TokensPerMinute = f.Whole("tokensPerMinute"),
            AllowedModels = f.List("allowedModels"),
            AllowedActions = f.List("allowedActions"),
            SoftAlertThreshold = f.Decimal("softAlertThreshold") ?? 0.8m,
            AlertWebhook = f.Text("alertWebhook"),
        };
        var errors = f.Errors;
        if (errors.Count > 0)
        {
            error = string.Join(" ", errors);
            return false;
        }

        settings = result;
        return true;
    }
}
