using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Host.Surfaces;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// The levels below a tenant under <c>/api/v1/tenants/{t}</c> (admin key): projects, keys with their settings (a
/// secret is shown once, when issued or rotated), end users with budgets, and usage grouped by project, key or end
/// user. Every change is validated against the level's parents by the registry (a 400 names both).
/// </summary>
internal static class LevelEndpoints
{
    public static RouteGroupBuilder MapLevelEndpoints(this RouteGroupBuilder tenants)
    {
        ArgumentNullException.ThrowIfNull(tenants);
        tenants.MapGet("/{t}/projects", async (string t, IGrainFactory grains) => TypedResults.Ok((await Require(grains, t)).Projects));
        tenants.MapPost("/{t}/projects", (string t, ProjectBody body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            var settings = body?.Settings ?? throw Invalid("The body must be {\"settings\": {\"id\": ...}}.");
            var project = await grains.GetTenantRegistry().PutProjectAsync(t, settings, create: true);
            return TypedResults.Created($"/api/v1/tenants/{t}/projects/{project.Id}", project);
        }));
        tenants.MapGet("/{t}/projects/{p}", async (string t, string p, IGrainFactory grains) =>
            (await Require(grains, t)).Projects.FirstOrDefault(x => x.Id == p) is { } project
                ? (IResult)TypedResults.Ok(project)
                : AdminProblems.Problem(404, $"Tenant '{t}' has no project '{p}'."));
        tenants.MapPut("/{t}/projects/{p}", (string t, string p, ProjectBody body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            var settings = body?.Settings ?? throw Invalid("The body must be {\"settings\": {...}}.");
            if (settings.Id != p)
            {
                throw Invalid("The settings' id must be the project of the path.");
            }

            return TypedResults.Ok(await grains.GetTenantRegistry().PutProjectAsync(t, settings, create: false));
        }));
        tenants.MapDelete("/{t}/projects/{p}", (string t, string p, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            await grains.GetTenantRegistry().DeleteProjectAsync(t, p);
            return TypedResults.NoContent();
        }));

        tenants.MapGet("/{t}/keys", async (string t, IGrainFactory grains) =>
        {
            var tenant = await Require(grains, t);
            var usage = await grains.GetTenantBudget(t).GetUsageAsync();
            var lastUsed = usage.Levels.Where(l => l.Level == BudgetLevels.Key).ToDictionary(l => l.Id, l => l.LastUsedAt, StringComparer.Ordinal);
            return TypedResults.Ok(tenant.Keys.Select(k => KeyView.Of(k, lastUsed.GetValueOrDefault(k.KeyId))).ToArray());
        });
        tenants.MapPost("/{t}/keys", (string t, [FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] KeySettings? body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            var registry = grains.GetTenantRegistry();
            var issued = await registry.IssueKeyAsync(t, body ?? new KeySettings());
            var info = (await Require(grains, t)).Keys.First(k => k.KeyId == issued.KeyId);
            return TypedResults.Created($"/api/v1/tenants/{t}/keys/{issued.KeyId}", IssuedKeyView.Of(issued, info));
        }));
        tenants.MapPut("/{t}/keys/{id}", (string t, string id, KeySettings body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
            TypedResults.Ok(KeyView.Of(await grains.GetTenantRegistry().UpdateKeyAsync(t, id, body ?? throw Invalid("The body must be the key's settings.")), null))));
        tenants.MapPost("/{t}/keys/{id}/rotate", (string t, string id, [FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] RotateBody? body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            if (body?.OverlapSeconds is < 0)
            {
                throw Invalid("overlapSeconds must not be negative.");
            }

            var overlap = body?.OverlapSeconds is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
            var issued = await grains.GetTenantRegistry().RotateKeyAsync(t, id, overlap);
            var info = (await Require(grains, t)).Keys.First(k => k.KeyId == issued.KeyId);
            return TypedResults.Ok(IssuedKeyView.Of(issued, info));
        }));

        tenants.MapGet("/{t}/end-users/{user}", async (string t, string user, IGrainFactory grains) =>
            (await Require(grains, t)).EndUsers.TryGetValue(user, out var settings)
                ? (IResult)TypedResults.Ok(settings)
                : AdminProblems.Problem(404, $"Tenant '{t}' has no end user '{user}' with settings."));
        tenants.MapPut("/{t}/end-users/{user}", (string t, string user, EndUserSettings body, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
            TypedResults.Ok(await grains.GetTenantRegistry().PutEndUserAsync(t, user, body ?? throw Invalid("The body must be the end user's settings.")))));
        tenants.MapDelete("/{t}/end-users/{user}", (string t, string user, IGrainFactory grains, TenantDirectory directory) => Changed(directory, async () =>
        {
            await grains.GetTenantRegistry().DeleteEndUserAsync(t, user);
            return TypedResults.NoContent();
        }));
        return tenants;
    }

    /// <summary>Usage grouped by a level (<c>project</c>, <c>key</c>, <c>endUser</c>), per day and model, from the ledger rows.</summary>
    public static async Task<IResult> GroupedUsageAsync(HttpContext http, ILedger ledger, UsageQuery query, string groupBy, bool csv)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(ledger);
        Func<LedgerRecord, string?> level = groupBy switch
        {
            "project" => r => r.ProjectId,
            "key" => r => r.KeyId,
            "endUser" => r => r.EndUser,
            _ => throw new InvalidRequestException("groupBy", "groupBy must be project, key or endUser."),
        };
        var groups = new SortedDictionary<(string Id, DateOnly Day, string Model), GroupTotals>();
        await foreach (var row in ledger.QueryAsync(query, http.RequestAborted))
        {
            var key = (level(row) ?? string.Empty, DateOnly.FromDateTime(row.CompletedAt.UtcDateTime), row.Model);
            groups[key] = (groups.GetValueOrDefault(key) ?? new GroupTotals()).Add(row);
        }

        var lines = groups.Select(g => new GroupedUsage(g.Key.Id.Length == 0 ? null : g.Key.Id, g.Key.Day, g.Key.Model, g.Value.Calls, g.Value.PromptTokens, g.Value.CompletionTokens, g.Value.CostUsd)).ToArray();
        if (!csv)
        {
            return TypedResults.Ok(new GroupedUsageView(query.TenantId, groupBy, lines));
        }

        var sb = new StringBuilder(groupBy).Append(",day,model,calls,prompt_tokens,completion_tokens,cost_usd\n");
        foreach (var l in lines)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{AdminEndpoints.Csv(l.Id)},{l.Day:yyyy-MM-dd},{AdminEndpoints.Csv(l.Model)},{l.Calls},{l.PromptTokens},{l.CompletionTokens},{l.CostUsd}\n");
        }

        return TypedResults.Text(sb.ToString(), "text/csv; charset=utf-8");
    }

    private static async Task<ManagedTenant> Require(IGrainFactory grains, string tenantId) =>
        await grains.GetTenantRegistry().GetAsync(tenantId)
        ?? throw new TenantRegistryException($"Tenant '{tenantId}' does not exist (or is a dev tenant from YAML, whose levels are set in its configuration file).") { Kind = "not_found" };

    private static TenantRegistryException Invalid(string message) => new(message) { Kind = "invalid" };

    /// <summary>Runs a change and refreshes this process's view, so it applies here at once (other silos get the push).</summary>
    private static async Task<IResult> Changed<T>(TenantDirectory directory, Func<Task<T>> change)
        where T : IResult
    {
        var result = await change();
        await directory.RefreshAsync();
        return result;
    }

    public sealed record ProjectBody(ProjectSettings? Settings);

    public sealed record RotateBody(long? OverlapSeconds);

    /// <summary>A key as listed: never its secret or hash.</summary>
    public sealed record KeyView(string Id, string Prefix, string? Project, string? Label, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? PreviousValidUntil, DateTimeOffset? LastUsedAt, KeySettings Settings)
    {
        public static KeyView Of(TenantKeyInfo k, DateTimeOffset? lastUsed) =>
            new(k.KeyId, k.Prefix + "…", k.Settings.Project, k.Settings.Label, k.CreatedAt, k.Settings.ExpiresAt, k.RevokedAt, k.PreviousValidUntil, lastUsed, k.Settings);
    }

    /// <summary>A key just issued or rotated: the only answer that carries its secret.</summary>
    public sealed record IssuedKeyView(string Id, string KeyId, string TenantId, string Key, string? Project, string? Label, DateTimeOffset? ExpiresAt, DateTimeOffset? PreviousValidUntil)
    {
        public static IssuedKeyView Of(IssuedTenantKey issued, TenantKeyInfo info) =>
            new(issued.KeyId, issued.KeyId, issued.TenantId, issued.Key, info.Settings.Project, info.Settings.Label, info.Settings.ExpiresAt, info.PreviousValidUntil);
    }

    public sealed record GroupedUsage(string? Id, DateOnly Day, string Model, long Calls, long PromptTokens, long CompletionTokens, decimal CostUsd);

    public sealed record GroupedUsageView(string TenantId, string GroupBy, GroupedUsage[] Usage);

    private sealed record GroupTotals(long Calls = 0, long PromptTokens = 0, long CompletionTokens = 0, decimal CostUsd = 0m)
    {
        public GroupTotals Add(LedgerRecord r) => new(Calls + 1, PromptTokens + r.PromptTokens, CompletionTokens + r.CompletionTokens, CostUsd + r.CostUsd);
    }
}
