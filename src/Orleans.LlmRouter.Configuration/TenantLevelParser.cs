using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

/// <summary>
/// The levels below a dev tenant in YAML: <c>projects</c> (id, budgets, limits, allowed models and actions),
/// <c>keys</c> (id, hash, project, expires_at, label and the same limits) and <c>end_users</c> (by id). A level may only
/// narrow its parent: a budget or per-minute limit above the parent's, or a model or action the parent does not allow,
/// is a configuration error naming both.
/// </summary>
internal static class TenantLevelParser
{
    private static readonly string[] LevelKeys = ["budgets", "limits", "allowed_models", "allowed_actions", "soft_alert_threshold", "alert_webhook"];

    public static TenantDefinition Parse(YamlNodeReader r, YamlMappingNode map, TenantDefinition tenant, string what)
    {
        var projects = new Dictionary<string, LevelDefinition>(StringComparer.Ordinal);
        foreach (var p in r.Get(map, "projects") is { } projectList ? r.Items(projectList, $"projects of {what}") : [])
        {
            r.CheckKeys(p, $"a project of {what}", [.. LevelKeys, "id"]);
            if (r.String(p, "id", $"a project of {what}", required: true) is { } id)
            {
                var level = Level(r, p, LevelDefinition.Project, id, $"project '{id}' of {what}");
                Narrower(r, p, level, tenant.Budgets, tenant.Limits, tenant.AllowedModels, tenant.AllowedActions, what);
                if (!projects.TryAdd(id, level))
                {
                    r.Error(p, $"project '{id}' of {what} is defined twice");
                }
            }
        }

        var keys = new Dictionary<string, KeyDefinition>(StringComparer.Ordinal);
        foreach (var k in r.Get(map, "keys") is { } keyList ? r.Items(keyList, $"keys of {what}") : [])
        {
            r.CheckKeys(k, $"a key of {what}", [.. LevelKeys, "id", "hash", "project", "expires_at", "label"]);
            var id = r.String(k, "id", $"a key of {what}", required: true);
            var kw = $"key '{id}' of {what}";
            var hash = r.String(k, "hash", kw, required: true);
            if (hash is not null && !TenantParser.IsKeyHash(hash))
            {
                r.Error(r.Get(k, "hash")!, $"the hash of {kw} must be 'sha256:' and 64 hex digits (store the hash, never the key)");
                hash = null;
            }

            var project = r.String(k, "project", kw);
            LevelDefinition? parent = null;
            if (project is not null && !projects.TryGetValue(project, out parent))
            {
                r.Error(r.Get(k, "project")!, $"{kw} names project '{project}', which {what} does not have");
            }

            DateTimeOffset? expires = null;
            if (r.String(k, "expires_at", kw) is { } at)
            {
                if (DateTimeOffset.TryParse(at, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var e))
                {
                    expires = e;
                }
                else
                {
                    r.Error(r.Get(k, "expires_at")!, $"expires_at of {kw} must be an ISO 8601 time");
                }
            }

            if (id is null || hash is null)
            {
                continue;
            }

            var level = Level(r, k, LevelDefinition.Key, id, kw);
            Narrower(r, k, level, parent?.Budgets ?? tenant.Budgets, parent?.Limits ?? tenant.Limits, parent?.AllowedModels ?? tenant.AllowedModels, parent?.AllowedActions ?? tenant.AllowedActions, parent is null ? what : $"project '{project}'");
            if (!keys.TryAdd(id, new KeyDefinition(id, hash.ToLowerInvariant(), project, expires, level) { Label = r.String(k, "label", kw) }))
            {
                r.Error(k, $"{kw} is defined twice");
            }
        }

        var endUsers = new Dictionary<string, LevelDefinition>(StringComparer.Ordinal);
        if (r.Map(map, "end_users", what) is { } users)
        {
            foreach (var (name, node) in users.Children)
            {
                var id = ((YamlScalarNode)name).Value ?? string.Empty;
                if (node is not YamlMappingNode u)
                {
                    r.Error(node, $"end user '{id}' of {what} must be a mapping");
                    continue;
                }

                r.CheckKeys(u, $"end user '{id}' of {what}", LevelKeys);
                var level = Level(r, u, LevelDefinition.EndUser, id, $"end user '{id}' of {what}");
                Narrower(r, u, level, tenant.Budgets, tenant.Limits, tenant.AllowedModels, tenant.AllowedActions, what);
                endUsers[id] = level;
            }
        }

        return tenant with { Projects = projects, Keys = keys, EndUsers = endUsers };
    }

    private static LevelDefinition Level(YamlNodeReader r, YamlMappingNode map, string level, string id, string what)
    {
        var threshold = r.Decimal(map, "soft_alert_threshold", what);
        if (threshold is <= 0 or > 1)
        {
            r.Error(r.Get(map, "soft_alert_threshold")!, $"soft_alert_threshold of {what} must be above 0 and at most 1");
        }

        return new LevelDefinition(
            level, id, TenantParser.ParseBudgets(r, map, what), ProviderParser.ParseLimits(r, r.Map(map, "limits", what), what),
            r.StringList(map, "allowed_models", what).Select(x => x.Value).ToHashSet(StringComparer.Ordinal),
            r.StringList(map, "allowed_actions", what).Select(x => x.Value).ToHashSet(StringComparer.Ordinal))
        {
            SoftAlertThreshold = threshold,
            AlertWebhook = r.String(map, "alert_webhook", what),
        };
    }

    /// <summary>Reports every way <paramref name="child"/> is wider than its parent.</summary>
    private static void Narrower(YamlNodeReader r, YamlMappingNode at, LevelDefinition child, BudgetLimits budgets, ProviderLimits limits, IReadOnlySet<string> models, IReadOnlySet<string> actions, string parent)
    {
        var what = $"{child.Level.Replace('_', ' ')} '{child.Id}'";
        foreach (var (key, limit) in child.Budgets.Limits)
        {
            if (budgets.Limit(key.Window, key.Unit) is { } max && limit > max)
            {
                r.Error(at, $"the {key.Window} {key.Unit.ToString().ToLowerInvariant()} budget {limit} of {what} is above {parent}'s {max}");
            }
        }

        if (child.Limits.RequestsPerMinute > limits.RequestsPerMinute)
        {
            r.Error(at, $"the rpm {child.Limits.RequestsPerMinute} of {what} is above {parent}'s {limits.RequestsPerMinute}");
        }

        if (child.Limits.TokensPerMinute > limits.TokensPerMinute)
        {
            r.Error(at, $"the tpm {child.Limits.TokensPerMinute} of {what} is above {parent}'s {limits.TokensPerMinute}");
        }

        foreach (var m in child.AllowedModels.Where(m => models.Count > 0 && !models.Contains(m)))
        {
            r.Error(at, $"model '{m}' of {what} is not allowed for {parent}");
        }

        foreach (var a in child.AllowedActions.Where(a => actions.Count > 0 && !actions.Contains(a)))
        {
            r.Error(at, $"action '{a}' of {what} is not allowed for {parent}");
        }
    }
}
