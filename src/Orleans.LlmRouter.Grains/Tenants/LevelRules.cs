using System.Globalization;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Tenants;

/// <summary>
/// What a level below a tenant may be set to: its own fields valid, and nothing wider than its parent's (a budget or
/// per-minute limit above the parent's, a model or action the parent does not allow). Problems name both levels.
/// </summary>
internal static class LevelRules
{
    /// <summary>A parent's limits as the rules read them: a tenant's settings or a project's.</summary>
    public sealed record Parent(string Name, TenantBudgetLimits Budgets, int? RequestsPerMinute, long? TokensPerMinute, IReadOnlyList<string> AllowedModels, IReadOnlyList<string> AllowedActions)
    {
        public static Parent Of(TenantSettings t) => new($"tenant '{t.Id}'", t.Budgets, t.RequestsPerMinute, t.TokensPerMinute, t.AllowedModels, t.AllowedActions);

        public static Parent Of(ProjectSettings p, Parent tenant) =>
            new($"project '{p.Id}'", p.Budgets, p.RequestsPerMinute ?? tenant.RequestsPerMinute, p.TokensPerMinute ?? tenant.TokensPerMinute,
                p.AllowedModels.Count > 0 ? p.AllowedModels : tenant.AllowedModels, p.AllowedActions.Count > 0 ? p.AllowedActions : tenant.AllowedActions)
            {
                Above = tenant,
            };

        /// <summary>The parent's own parent (a project's tenant), whose budgets bind too.</summary>
        public Parent? Above { get; init; }
    }

    /// <summary>Every problem of <paramref name="child"/> (named <paramref name="name"/>) under <paramref name="parent"/>.</summary>
    public static List<string> Problems(string name, LevelSettings child, Parent parent, ModelCatalog catalog)
    {
        var problems = new List<string>();
        if (child.Budgets.Entries().Any(e => e.Limit < 0))
        {
            problems.Add($"{name}: budgets must not be negative");
        }

        if (child.RequestsPerMinute < 1 || child.TokensPerMinute < 1)
        {
            problems.Add($"{name}: limits must be positive");
        }

        if (child.SoftAlertThreshold is <= 0 or > 1)
        {
            problems.Add($"{name}: softAlertThreshold must be above 0 and at most 1");
        }

        if (child.AlertWebhook is { } hook && (!Uri.TryCreate(hook, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            problems.Add($"{name}: alertWebhook must be an absolute http(s) URL");
        }

        for (var p = parent; p is not null; p = p.Above)
        {
            var limits = p.Budgets.Entries().ToDictionary(e => (e.Window, e.Unit), e => e.Limit);
            foreach (var (window, unit, limit) in child.Budgets.Entries())
            {
                if (limits.TryGetValue((window, unit), out var max) && limit > max)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: the {window} {unit} budget {limit} is above {p.Name}'s {max}"));
                }
            }
        }

        if (child.RequestsPerMinute > parent.RequestsPerMinute)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: requestsPerMinute {child.RequestsPerMinute} is above {parent.Name}'s {parent.RequestsPerMinute}"));
        }

        if (child.TokensPerMinute > parent.TokensPerMinute)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: tokensPerMinute {child.TokensPerMinute} is above {parent.Name}'s {parent.TokensPerMinute}"));
        }

        problems.AddRange(child.AllowedModels.Where(m => !catalog.Models.ContainsKey(m)).Select(m => $"{name}: allowedModels names unknown model '{m}'"));
        problems.AddRange(child.AllowedActions.Where(a => !catalog.Actions.ContainsKey(a)).Select(a => $"{name}: allowedActions names unknown action '{a}'"));
        if (parent.AllowedModels.Count > 0)
        {
            problems.AddRange(child.AllowedModels.Where(m => catalog.Models.ContainsKey(m) && !parent.AllowedModels.Contains(m)).Select(m => $"{name}: model '{m}' is not allowed for {parent.Name}"));
        }

        if (parent.AllowedActions.Count > 0)
        {
            problems.AddRange(child.AllowedActions.Where(a => catalog.Actions.ContainsKey(a) && !parent.AllowedActions.Contains(a)).Select(a => $"{name}: action '{a}' is not allowed for {parent.Name}"));
        }

        return problems;
    }

    /// <summary>Every problem of a tenant's levels under its (new) settings: a tenant or project may not be narrowed below what its children have.</summary>
    public static List<string> TreeProblems(TenantSettings tenant, ManagedTenant levels, ModelCatalog catalog)
    {
        var top = Parent.Of(tenant);
        var projects = levels.Projects.ToDictionary(p => p.Id, p => Parent.Of(p, top), StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var project in levels.Projects)
        {
            problems.AddRange(Problems($"project '{project.Id}'", project, top, catalog));
        }

        foreach (var key in levels.Keys.Where(k => k.RevokedAt is null))
        {
            var parent = key.Settings.Project is { } p && projects.TryGetValue(p, out var pp) ? pp : top;
            problems.AddRange(Problems($"key '{key.KeyId}'", key.Settings, parent, catalog));
        }

        foreach (var (user, settings) in levels.EndUsers)
        {
            problems.AddRange(Problems($"end user '{user}'", settings, top, catalog));
        }

        return problems;
    }

    /// <summary>An end user id: 1-256 characters, none of them a control character.</summary>
    public static bool IsEndUserId(string? id) => !string.IsNullOrEmpty(id) && id.Length <= 256 && !id.Any(char.IsControl);
}
