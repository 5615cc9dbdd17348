using System.Globalization;
using System.Text;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The levels below a tenant on the console (issue 25's hierarchy): the tenant page's sections for projects, keys and
/// budgeted end users — each a list with spend and a gauge per limited window, read from the tenant budget grain's
/// <see cref="TenantUsage.Levels"/> — and the admin's forms to create, edit and delete a project, issue a key (its
/// secret shown once), edit, rotate (with an overlap) and revoke it, and put or delete an end user's budget. Every
/// change goes to the tenant registry grain, as <c>/api/v1/tenants/{t}/projects|keys|end-users</c> does; a refusal (a
/// child wider than its parent names both) is shown on the page.
/// </summary>
internal static class LevelPages
{
    /// <summary>The projects, keys and end users sections of a managed tenant's page (forms for the admin only).</summary>
    public static string Sections(HttpContext http, ConsoleSession session, ManagedTenant tenant, TenantUsage usage, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(usage);
        var t = tenant.Settings.Id;
        var admin = session.IsAdmin;
        var levels = usage.Levels.ToDictionary(l => (l.Level, l.Id));
        LevelUsage? Of(string level, string id) => levels.GetValueOrDefault((level, id));
        var sb = new StringBuilder();

        sb.Append("<section aria-labelledby=\"projects-h\"><h2 id=\"projects-h\">Projects</h2>");
        sb.Append(Html.Table("Projects: spend and budgets", admin ? ["Project", "Spend", "Budgets", "Limits", "Allowed", "Actions"] : ["Project", "Spend", "Budgets", "Limits", "Allowed"],
            tenant.Projects.OrderBy(p => p.Id, StringComparer.Ordinal).Select(p =>
            {
                var u = Of(BudgetLevels.Project, p.Id);
                var cells = new List<string> { admin ? $"<a href=\"{E(ProjectPath(t, p.Id))}\">{E(p.Id)}</a>" : E(p.Id), Spend(u), LevelGauges(BudgetLevels.Project, p.Id, p, u), Limits(p), Allowed(p) };
                if (admin)
                {
                    cells.Add(Button(http, ProjectPath(t, p.Id) + "/delete", $"Delete {p.Id}", $"Delete project {p.Id}? Its keys are revoked with it.", "danger"));
                }

                return cells.ToArray();
            }), "projects"));
        if (admin)
        {
            sb.Append("<details><summary>New project</summary>").Append(ProjectForm(http, TenantPath(t) + "/projects", "np", null, "Create project")).Append("</details>");
        }

        sb.Append("</section><section aria-labelledby=\"keys-h\"><h2 id=\"keys-h\">Keys</h2>");
        sb.Append(Html.Table("Keys (secrets are stored hashed and never shown again)",
            admin ? ["Key", "Label", "Project", "Prefix", "Created / expires", "Last used", "State", "Spend", "Budgets", "Actions"] : ["Key", "Label", "Project", "Prefix", "Created / expires", "Last used", "State", "Spend", "Budgets"],
            tenant.Keys.Select(k =>
            {
                var u = Of(BudgetLevels.Key, k.KeyId);
                var cells = new List<string>
                {
                    admin ? $"<a href=\"{E(KeyPath(t, k.KeyId))}\">{E(k.KeyId)}</a>" : E(k.KeyId), E(k.Settings.Label ?? "–"), E(k.Settings.Project ?? "– (tenant)"),
                    $"<code>{E(k.Prefix)}…</code>", Time(k.CreatedAt) + "<br>" + (k.Settings.ExpiresAt is { } x ? Time(x) : "never"), Time(u?.LastUsedAt), KeyState(k, now), Spend(u),
                    LevelGauges(BudgetLevels.Key, k.KeyId, k.Settings, u),
                };
                if (admin)
                {
                    cells.Add(k.RevokedAt is null ? Button(http, KeyPath(t, k.KeyId) + "/revoke", $"Revoke {k.KeyId}", $"Revoke key {k.KeyId}? Requests bearing it are refused from then on.", "danger") : string.Empty);
                }

                return cells.ToArray();
            }), "keys"));
        if (admin)
        {
            sb.Append("<details><summary>Issue a key</summary>").Append(KeyForm(http, TenantPath(t) + "/keys", "nk", tenant, null, "Issue a new key")).Append("</details>");
        }

        sb.Append("</section><section aria-labelledby=\"end-users-h\"><h2 id=\"end-users-h\">End users with budgets</h2>");
        sb.Append("<p class=\"muted\">End users without settings of their own are recorded on the ledger (filter the call log by them) and have no counters.</p>");
        sb.Append(Html.Table("End users: spend and budgets", admin ? ["End user", "Spend", "Budgets", "Limits", "Allowed", "Actions"] : ["End user", "Spend", "Budgets", "Limits", "Allowed"],
            tenant.EndUsers.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e =>
            {
                var u = Of(BudgetLevels.EndUser, e.Key);
                var cells = new List<string> { admin ? $"<a href=\"{E(EndUserPath(t, e.Key))}\">{E(e.Key)}</a>" : E(e.Key), Spend(u), LevelGauges(BudgetLevels.EndUser, e.Key, e.Value, u), Limits(e.Value), Allowed(e.Value) };
                if (admin)
                {
                    cells.Add(Button(http, EndUserPath(t, e.Key) + "/delete", $"Delete {e.Key}", $"Remove the budgets of end user {e.Key}?", "danger"));
                }

                return cells.ToArray();
            }), "end-users"));
        if (admin)
        {
            sb.Append("<details><summary>Set an end user's budget</summary>").Append(EndUserForm(http, TenantPath(t) + "/end-users", "ne", null, null, "Save end user")).Append("</details>");
        }

        return sb.Append("</section>").ToString();
    }

    /// <summary>The levels of a tenant from YAML, read-only (their settings live in its configuration file).</summary>
    public static string UsageOnly(TenantUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return "<section aria-labelledby=\"levels-h\"><h2 id=\"levels-h\">Projects, keys and end users</h2>"
            + Html.Table("Levels from the configuration file", ["Level", "Id", "Spend", "Budgets"],
                usage.Levels.OrderBy(l => l.Level, StringComparer.Ordinal).ThenBy(l => l.Id, StringComparer.Ordinal)
                    .Select(l => new[] { E(l.Level), E(l.Id), Spend(l), LevelGauges(l.Level, l.Id, null, l) }), "levels")
            + "</section>";
    }

    public static async Task<IResult> ProjectAsync(HttpContext http, string id, string projectId, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(id) is not { } tenant || tenant.Projects.FirstOrDefault(p => p.Id == projectId) is not { } project)
        {
            return NotFound(http, id, $"Tenant '{id}' has no project '{projectId}'.");
        }

        var u = await LevelUsageAsync(grains, id, BudgetLevels.Project, projectId);
        var path = ProjectPath(id, projectId);
        var sb = new StringBuilder($"<h1>Project {E(projectId)}</h1><p class=\"subtitle\">of tenant <a href=\"{E(TenantPath(id))}\">{E(id)}</a></p>");
        sb.Append("<section aria-labelledby=\"budgets-h\"><h2 id=\"budgets-h\">Budgets</h2>").Append(LevelGauges(BudgetLevels.Project, projectId, project, u)).Append("<p>Spend: ").Append(Spend(u)).Append("</p></section>");
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls{E(Query(("tenant", id), ("project", projectId)))}\">Calls of this project</a></p>");
        sb.Append("<section><h2>Settings</h2>").Append(ProjectForm(http, path, "p", project, "Save project")).Append("</section>");
        sb.Append(Button(http, path + "/delete", $"Delete {projectId}", $"Delete project {projectId}? Its keys are revoked with it.", "danger"));
        return Page(http, "Project " + projectId, sb.ToString(), session: http.Session());
    }

    public static async Task<IResult> CreateProjectAsync(HttpContext http, string id, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var projectId = form["id"].ToString().Trim();
        if (!TryRead(form, new ProjectSettings { Id = projectId }, out var settings, out var error))
        {
            return Refused(http, id, error);
        }

        return await ChangeAsync(http, id, directory, () => grains.GetTenantRegistry().PutProjectAsync(id, (ProjectSettings)settings, create: true), TenantPath(id) + "#projects-h");
    }

    public static async Task<IResult> UpdateProjectAsync(HttpContext http, string id, string projectId, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (await grains.GetTenantRegistry().GetAsync(id) is not { } tenant || tenant.Projects.FirstOrDefault(p => p.Id == projectId) is not { } existing)
        {
            return NotFound(http, id, $"Tenant '{id}' has no project '{projectId}'.");
        }

        if (!TryRead(form, existing, out var settings, out var error))
        {
            return Refused(http, id, error);
        }

        return await ChangeAsync(http, id, directory, () => grains.GetTenantRegistry().PutProjectAsync(id, (ProjectSettings)settings, create: false), ProjectPath(id, projectId));
    }

    public static Task<IResult> DeleteProjectAsync(HttpContext http, string id, string projectId, IGrainFactory grains, TenantDirectory directory) =>
        ChangeAsync(http, id, directory, async () =>
        {
            await grains.GetTenantRegistry().DeleteProjectAsync(id, projectId);
            return true;
        }, TenantPath(id) + "#projects-h");

    public static async Task<IResult> KeyAsync(HttpContext http, string id, string keyId, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(id) is not { } tenant || tenant.Keys.FirstOrDefault(k => k.KeyId == keyId) is not { } key)
        {
            return NotFound(http, id, $"Tenant '{id}' has no key '{keyId}'.");
        }

        var now = (http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        var u = await LevelUsageAsync(grains, id, BudgetLevels.Key, keyId);
        var path = KeyPath(id, keyId);
        var sb = new StringBuilder($"<h1>Key {E(keyId)}</h1><p class=\"subtitle\">of tenant <a href=\"{E(TenantPath(id))}\">{E(id)}</a></p><dl class=\"detail\">");
        foreach (var (term, value) in new (string, string)[]
        {
            ("Label", E(key.Settings.Label ?? "–")), ("Project", E(key.Settings.Project ?? "– (a key of the tenant)")), ("Prefix", $"<code>{E(key.Prefix)}…</code>"),
            ("Created", Time(key.CreatedAt)), ("Expires", Time(key.Settings.ExpiresAt)), ("Last used", Time(u?.LastUsedAt)), ("State", KeyState(key, now)),
        })
        {
            sb.Append("<dt>").Append(E(term)).Append("</dt><dd>").Append(value).Append("</dd>");
        }

        sb.Append("</dl><section aria-labelledby=\"budgets-h\"><h2 id=\"budgets-h\">Budgets</h2>").Append(LevelGauges(BudgetLevels.Key, keyId, key.Settings, u)).Append("<p>Spend: ").Append(Spend(u)).Append("</p></section>");
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls{E(Query(("tenant", id), ("key", keyId)))}\">Calls made with this key</a></p>");
        if (key.RevokedAt is null)
        {
            sb.Append("<section><h2>Settings</h2>").Append(KeyForm(http, path, "k", tenant, key.Settings, "Save key")).Append("</section>");
            sb.Append("<section><h2>Rotate</h2><p>A new secret is issued (shown once); the current one keeps working for the overlap.</p>")
                .Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{E(path + "/rotate")}\" class=\"settings\">{Csrf(http)}")
                .Append(Field("overlapSeconds", "Overlap (seconds)", null, "number", "how long the current secret keeps working; empty for 24 hours, 0 stops it at once", form: "r"))
                .Append("<button type=\"submit\">Rotate</button></form></section>");
            sb.Append(Button(http, path + "/revoke", $"Revoke {keyId}", $"Revoke key {keyId}? Requests bearing it are refused from then on.", "danger"));
        }

        return Page(http, "Key " + keyId, sb.ToString(), session: http.Session());
    }

    public static async Task<IResult> IssueKeyAsync(HttpContext http, string id, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (!TryRead(form, new KeySettings(), out var settings, out var error))
        {
            return Refused(http, id, error);
        }

        IssuedTenantKey issued;
        try
        {
            issued = await grains.GetTenantRegistry().IssueKeyAsync(id, (KeySettings)settings);
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Refused(http, id, ex);
        }

        return Issued(http, id, "New key", issued, null);
    }

    public static async Task<IResult> UpdateKeyAsync(HttpContext http, string id, string keyId, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (await grains.GetTenantRegistry().GetAsync(id) is not { } tenant || tenant.Keys.FirstOrDefault(k => k.KeyId == keyId) is not { } key)
        {
            return NotFound(http, id, $"Tenant '{id}' has no key '{keyId}'.");
        }

        if (!TryRead(form, key.Settings, out var settings, out var error))
        {
            return Refused(http, id, error);
        }

        return await ChangeAsync(http, id, directory, () => grains.GetTenantRegistry().UpdateKeyAsync(id, keyId, (KeySettings)settings), KeyPath(id, keyId));
    }

    public static async Task<IResult> RotateKeyAsync(HttpContext http, string id, string keyId, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        TimeSpan? overlap = null;
        if (form["overlapSeconds"].ToString().Trim() is { Length: > 0 } text)
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > (long)TimeSpan.MaxValue.TotalSeconds)
            {
                return Refused(http, id, "overlapSeconds must be a whole, non-negative number of seconds.");
            }

            overlap = TimeSpan.FromSeconds(seconds);
        }

        IssuedTenantKey issued;
        DateTimeOffset? previousUntil;
        try
        {
            var registry = grains.GetTenantRegistry();
            issued = await registry.RotateKeyAsync(id, keyId, overlap);
            previousUntil = (await registry.GetAsync(id))?.Keys.FirstOrDefault(k => k.KeyId == keyId)?.PreviousValidUntil;
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Refused(http, id, ex);
        }

        return Issued(http, id, "Rotated key", issued, previousUntil);
    }

    public static async Task<IResult> EndUserAsync(HttpContext http, string id, string endUser, IGrainFactory grains)
    {
        if (await grains.GetTenantRegistry().GetAsync(id) is not { } tenant || !tenant.EndUsers.TryGetValue(endUser, out var settings))
        {
            return NotFound(http, id, $"Tenant '{id}' has no end user '{endUser}' with settings.");
        }

        var u = await LevelUsageAsync(grains, id, BudgetLevels.EndUser, endUser);
        var path = EndUserPath(id, endUser);
        var sb = new StringBuilder($"<h1>End user {E(endUser)}</h1><p class=\"subtitle\">of tenant <a href=\"{E(TenantPath(id))}\">{E(id)}</a></p>");
        sb.Append("<section aria-labelledby=\"budgets-h\"><h2 id=\"budgets-h\">Budgets</h2>").Append(LevelGauges(BudgetLevels.EndUser, endUser, settings, u)).Append("<p>Spend: ").Append(Spend(u)).Append("</p></section>");
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/ui/calls{E(Query(("tenant", id), ("end_user", endUser)))}\">Calls made for this end user</a></p>");
        sb.Append("<section><h2>Settings</h2>").Append(EndUserForm(http, path, "e", endUser, settings, "Save end user")).Append("</section>");
        sb.Append(Button(http, path + "/delete", $"Delete {endUser}", $"Remove the budgets of end user {endUser}?", "danger"));
        return Page(http, "End user " + endUser, sb.ToString(), session: http.Session());
    }

    /// <summary>Creates or replaces an end user's settings: the id comes from the form (the tenant page) or the path (its own page).</summary>
    public static async Task<IResult> PutEndUserAsync(HttpContext http, string id, string? endUser, IGrainFactory grains, TenantDirectory directory)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var user = endUser ?? form["endUser"].ToString().Trim();
        var existing = endUser is not null && await grains.GetTenantRegistry().GetAsync(id) is { } tenant && tenant.EndUsers.TryGetValue(endUser, out var s) ? s : new EndUserSettings();
        if (!TryRead(form, existing, out var settings, out var error))
        {
            return Refused(http, id, error);
        }

        return await ChangeAsync(http, id, directory, () => grains.GetTenantRegistry().PutEndUserAsync(id, user, (EndUserSettings)settings),
            endUser is null ? TenantPath(id) + "#end-users-h" : EndUserPath(id, user));
    }

    public static Task<IResult> DeleteEndUserAsync(HttpContext http, string id, string endUser, IGrainFactory grains, TenantDirectory directory) =>
        ChangeAsync(http, id, directory, async () =>
        {
            await grains.GetTenantRegistry().DeleteEndUserAsync(id, endUser);
            return true;
        }, TenantPath(id) + "#end-users-h");

    /// <summary>
    /// A gauge per limited window (run budgets excepted) of one level: what is used from the budget grain's counters
    /// (<see cref="TenantUsage.Levels"/>; zero for a level the grain has not taken in yet), the limit from the level's
    /// settings in the registry (the grain takes an edit in at its next call), or from the counters when there are none (YAML).
    /// </summary>
    private static string LevelGauges(string level, string id, LevelSettings? settings, LevelUsage? usage)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<div class=\"gauges\" data-level=\"{E(level)}\" data-id=\"{E(id)}\">");
        var any = false;
        var limits = settings?.Budgets.Entries().Where(e => e.Window != "run").Select(e => (e.Window, e.Unit, (decimal?)e.Limit))
            ?? (usage?.Windows ?? []).Where(w => w.Window != "run")
                .SelectMany(w => new[] { (w.Window, "tokens", (decimal?)w.TokenLimit), (w.Window, "usd", w.CostLimitUsd) }).Where(e => e.Item3 is not null);
        foreach (var (window, unit, configured) in limits)
        {
            var w = usage?.Windows.FirstOrDefault(x => x.Window == window);
            var limit = configured ?? (unit == "tokens" ? w?.TokenLimit : w?.CostLimitUsd);
            if (limit is not { } l)
            {
                continue;
            }

            sb.Append(Svg.Gauge(window, unit == "tokens" ? w?.Tokens ?? 0 : w?.CostUsd ?? 0m, l, unit));
            any = true;
        }

        return sb.Append(any ? string.Empty : "<span class=\"muted\">no budget</span>").Append("</div>").ToString();
    }

    private static string Spend(LevelUsage? u)
    {
        var today = u?.Windows.FirstOrDefault(w => w.Window == "daily");
        var all = u?.Windows.FirstOrDefault(w => w.Window == "lifetime");
        return $"<span class=\"spend\">{Usd(today?.CostUsd ?? 0m)} today; {Usd(all?.CostUsd ?? 0m)} and {E(all?.Tokens ?? 0)} tokens in all</span>";
    }

    private static string Limits(LevelSettings s)
    {
        var parts = new List<string>();
        if (s.RequestsPerMinute is { } rpm)
        {
            parts.Add(E(rpm) + " requests/min");
        }

        if (s.TokensPerMinute is { } tpm)
        {
            parts.Add(E(tpm) + " tokens/min");
        }

        return parts.Count == 0 ? "<span class=\"muted\">none</span>" : string.Join("<br>", parts);
    }

    private static string Allowed(LevelSettings s) =>
        (s.AllowedModels.Count == 0 ? "every model its parent allows" : "models: " + E(string.Join(", ", s.AllowedModels)))
        + "<br>" + (s.AllowedActions.Count == 0 ? "every action its parent allows" : "actions: " + E(string.Join(", ", s.AllowedActions)));

    private static string KeyState(TenantKeyInfo k, DateTimeOffset now)
    {
        if (k.RevokedAt is { } revoked)
        {
            return "<span class=\"bad\">revoked " + Time(revoked) + "</span>";
        }

        if (k.Settings.ExpiresAt is { } expires && expires <= now)
        {
            return "<span class=\"bad\">expired " + Time(expires) + "</span>";
        }

        return "active" + (k.PreviousValidUntil is { } until && until > now ? "; the secret before rotation works until " + Time(until) : string.Empty);
    }

    private static async Task<LevelUsage?> LevelUsageAsync(IGrainFactory grains, string tenantId, string level, string id) =>
        (await grains.GetTenantBudget(tenantId).GetUsageAsync()).Levels.FirstOrDefault(l => l.Level == level && l.Id == id);

    private static IResult Issued(HttpContext http, string id, string title, IssuedTenantKey key, DateTimeOffset? previousUntil)
    {
        var body = $"<h1>{E(title)} for {E(id)}</h1><p role=\"status\">Copy it now: it is shown this once and stored only as a hash.</p>"
            + $"<p><code id=\"new-key\" class=\"secret\">{E(key.Key)}</code></p><p>Key id <code id=\"new-key-id\">{E(key.KeyId)}</code>.</p>"
            + (previousUntil is { } until ? $"<p>The secret before this rotation works until {Time(until)}.</p>" : string.Empty)
            + $"<p><a href=\"{E(TenantPath(id))}\">Back to {E(id)}</a></p>";
        return Page(http, title, body, session: http.Session());
    }

    /// <summary>Runs a registry change and refreshes this process's view; a refusal is shown on a page, never a 500.</summary>
    private static async Task<IResult> ChangeAsync<T>(HttpContext http, string id, TenantDirectory directory, Func<Task<T>> change, string then)
    {
        try
        {
            await change();
            await directory.RefreshAsync();
        }
        catch (TenantRegistryException ex)
        {
            return Refused(http, id, ex);
        }

        return Results.Redirect(then);
    }

    private static IResult Refused(HttpContext http, string id, TenantRegistryException ex) =>
        Refused(http, id, ex.Message, ex.Kind switch { "not_found" => StatusCodes.Status404NotFound, "conflict" => StatusCodes.Status409Conflict, _ => StatusCodes.Status400BadRequest });

    private static IResult Refused(HttpContext http, string id, string message, int status = StatusCodes.Status400BadRequest) =>
        Page(http, "Not saved", $"<h1>Not saved</h1><p class=\"error\" role=\"alert\">{E(message)}</p><p><a href=\"{E(TenantPath(id))}\">Back to {E(id)}</a></p>", status, http.Session());

    private static IResult NotFound(HttpContext http, string id, string message) =>
        Page(http, "Not found", $"<h1>Not found</h1><p>{E(message)}</p><p><a href=\"{E(TenantPath(id))}\">Back to {E(id)}</a></p>", StatusCodes.Status404NotFound, http.Session());

    private static string TenantPath(string t) => "/ui/tenants/" + Uri.EscapeDataString(t);

    private static string ProjectPath(string t, string p) => TenantPath(t) + "/projects/" + Uri.EscapeDataString(p);

    private static string KeyPath(string t, string k) => TenantPath(t) + "/keys/" + Uri.EscapeDataString(k);

    private static string EndUserPath(string t, string u) => TenantPath(t) + "/end-users/" + Uri.EscapeDataString(u);

    private static string ProjectForm(HttpContext http, string action, string form, ProjectSettings? s, string submit)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{E(action)}\" class=\"settings\" id=\"form-{E(form)}\">{Csrf(http)}");
        sb.Append(s is null ? Field("id", "Project id", null, required: true, hint: "1-64 letters, digits, '.', '_' or '-'", form: form) : string.Empty);
        return sb.Append(LevelFields(form, s)).Append(CultureInfo.InvariantCulture, $"<button type=\"submit\">{E(submit)}</button></form>").ToString();
    }

    private static string KeyForm(HttpContext http, string action, string form, ManagedTenant tenant, KeySettings? s, string submit)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{E(action)}\" class=\"settings\" id=\"form-{E(form)}\">{Csrf(http)}");
        sb.Append(CultureInfo.InvariantCulture, $"<label for=\"f-{E(form)}-project\">Project</label><select id=\"f-{E(form)}-project\" name=\"project\"><option value=\"\">none (a key of the tenant)</option>");
        foreach (var p in tenant.Projects.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(p.Id)}\"{(p.Id == s?.Project ? " selected" : string.Empty)}>{E(p.Id)}</option>");
        }

        sb.Append("</select>");
        sb.Append(Field("label", "Label", s?.Label, form: form));
        sb.Append(Field("expiresAt", "Expires at (UTC)", s?.ExpiresAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture), "datetime-local", "empty for never", form: form));
        return sb.Append(LevelFields(form, s)).Append(CultureInfo.InvariantCulture, $"<button type=\"submit\">{E(submit)}</button></form>").ToString();
    }

    private static string EndUserForm(HttpContext http, string action, string form, string? endUser, EndUserSettings? s, string submit)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{E(action)}\" class=\"settings\" id=\"form-{E(form)}\">{Csrf(http)}");
        sb.Append(endUser is null ? Field("endUser", "End user id", null, required: true, hint: "as the calls name it (user, metadata.user_id or X-LlmRouter-End-User)", form: form) : string.Empty);
        return sb.Append(LevelFields(form, s)).Append(CultureInfo.InvariantCulture, $"<button type=\"submit\">{E(submit)}</button></form>").ToString();
    }

    /// <summary>The fields every level has: budgets, per-minute limits, allowed models and actions, alerts.</summary>
    private static string LevelFields(string form, LevelSettings? s)
    {
        var b = s?.Budgets ?? new TenantBudgetLimits();
        static string? D(decimal? v) => v?.ToString(CultureInfo.InvariantCulture);
        static string? L(long? v) => v?.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder("<fieldset><legend>Budgets (empty for none; at most the parent's)</legend>");
        sb.Append(Field("dailyUsd", "Daily USD", D(b.DailyUsd), "number", form: form)).Append(Field("monthlyUsd", "Monthly USD", D(b.MonthlyUsd), "number", form: form))
            .Append(Field("lifetimeUsd", "Lifetime USD", D(b.LifetimeUsd), "number", form: form));
        sb.Append(Field("dailyTokens", "Daily tokens", L(b.DailyTokens), "number", form: form)).Append(Field("monthlyTokens", "Monthly tokens", L(b.MonthlyTokens), "number", form: form))
            .Append(Field("lifetimeTokens", "Lifetime tokens", L(b.LifetimeTokens), "number", form: form));
        sb.Append("</fieldset><fieldset><legend>Limits and access (only narrower than the parent)</legend>");
        sb.Append(Field("requestsPerMinute", "Requests per minute", s?.RequestsPerMinute?.ToString(CultureInfo.InvariantCulture), "number", form: form));
        sb.Append(Field("tokensPerMinute", "Tokens per minute", L(s?.TokensPerMinute), "number", form: form));
        sb.Append(Field("allowedModels", "Allowed models", s is null ? null : string.Join(", ", s.AllowedModels), hint: "comma-separated; empty allows what the parent allows", form: form));
        sb.Append(Field("allowedActions", "Allowed actions", s is null ? null : string.Join(", ", s.AllowedActions), hint: "comma-separated; empty allows what the parent allows", form: form));
        sb.Append("</fieldset><fieldset><legend>Alerts</legend>");
        sb.Append(Field("softAlertThreshold", "Soft alert threshold", D(s?.SoftAlertThreshold), "number", "fraction of a limit, above 0 and at most 1; empty for the tenant's", form: form));
        sb.Append(Field("alertWebhook", "Alert webhook", s?.AlertWebhook, "url", "http(s) URL the alert is POSTed to; empty for the tenant's", form: form));
        return sb.Append("</fieldset>").ToString();
    }

    /// <summary>The settings a form describes, on top of the existing ones (windows the form does not show are kept).</summary>
    private static bool TryRead(IFormCollection form, LevelSettings existing, out LevelSettings settings, out string error)
    {
        settings = existing;
        var f = new FormReader(form);
        var errors = f.Errors;
        var result = existing with
        {
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
            SoftAlertThreshold = f.Decimal("softAlertThreshold"),
            AlertWebhook = f.Text("alertWebhook"),
        };
        if (result is KeySettings key)
        {
            DateTimeOffset? expires = null;
            if (f.Text("expiresAt") is { } text)
            {
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                {
                    expires = at;
                }
                else
                {
                    errors.Add("expiresAt is not a date and time.");
                }
            }

            result = key with
            {
                Project = f.Text("project"),
                Label = f.Text("label"),
                ExpiresAt = expires,
            };
        }

        error = string.Join(" ", errors);
        if (errors.Count > 0)
        {
            return false;
        }

        settings = result;
        return true;
    }
}
