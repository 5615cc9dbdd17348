using System.Text.RegularExpressions;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

internal static partial class TenantParser
{
    public static TenantDefinition? Parse(YamlNodeReader r, YamlMappingNode map, List<Mcp.McpServerParser.McpRef> mcpRefs)
    {
        r.CheckKeys(map, "a tenant", "id", "name", "key_hashes", "budgets", "limits", "allowed_models", "allowed_actions", "soft_alert_threshold", "time_zone", "alert_webhook", "mcp", "projects", "keys", "end_users", "cache");
        var id = r.String(map, "id", "a tenant", required: true);
        var what = id is null ? "a tenant" : $"tenant '{id}'";
        var keys = new List<string>();
        foreach (var (hash, node) in r.StringList(map, "key_hashes", what))
        {
            if (KeyHashPattern().IsMatch(hash))
            {
                keys.Add(hash.ToLowerInvariant());
            }
            else
            {
                r.Error(node, $"key_hashes of {what} must be 'sha256:' and 64 hex digits (store the hash, never the key)");
            }
        }

        var budgets = ParseBudgets(r, map, what);
        var limits = ProviderParser.ParseLimits(r, r.Map(map, "limits", what), what);
        var threshold = r.Decimal(map, "soft_alert_threshold", what) ?? 0.8m;
        if (threshold is <= 0 or > 1)
        {
            r.Error(r.Get(map, "soft_alert_threshold")!, $"soft_alert_threshold of {what} must be above 0 and at most 1");
        }

        var timeZone = r.String(map, "time_zone", what) ?? "UTC";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
        {
            r.Error(r.Get(map, "time_zone") ?? map, $"time_zone '{timeZone}' of {what} is not a known time zone");
        }

        var webhook = r.String(map, "alert_webhook", what);
        if (webhook is not null && (!Uri.TryCreate(webhook, UriKind.Absolute, out var hook) || (hook.Scheme != Uri.UriSchemeHttp && hook.Scheme != Uri.UriSchemeHttps)))
        {
            r.Error(r.Get(map, "alert_webhook")!, $"alert_webhook of {what} must be an absolute http(s) URL");
        }

        var models = r.StringList(map, "allowed_models", what).Select(x => x.Value).ToHashSet(StringComparer.Ordinal);
        var actions = r.StringList(map, "allowed_actions", what).Select(x => x.Value).ToHashSet(StringComparer.Ordinal);
        var mcp = Mcp.McpServerParser.ParseAllowList(r, r.Map(map, "mcp", what), what, mcpRefs);
        var cache = CacheParser.Parse(r, map, what, tenant: true);
        if (id is null)
        {
            return null;
        }

        var tenant = new TenantDefinition(id, r.String(map, "name", what), keys, budgets, limits, models, actions, threshold, timeZone, r.At(map)) { AlertWebhook = webhook, Mcp = mcp, Cache = cache };
        return TenantLevelParser.Parse(r, map, tenant, what);
    }

    /// <summary>A <c>budgets:</c> block (<c>tokens:</c> and <c>usd:</c> per window, <c>run_tokens</c>, <c>run_usd</c>) of <paramref name="what"/>.</summary>
    internal static BudgetLimits ParseBudgets(YamlNodeReader r, YamlMappingNode map, string what)
    {
        var budgets = BudgetLimits.None;
        if (r.Map(map, "budgets", what) is { } b)
        {
            var bw = $"budgets of {what}";
            r.CheckKeys(b, bw, "tokens", "usd", "run_tokens", "run_usd");
            var tokens = r.Map(b, "tokens", bw);
            var usd = r.Map(b, "usd", bw);
            var tw = $"token budgets of {what}";
            var uw = $"USD budgets of {what}";
            var names = BudgetWindows.All.Select(w => w.Name).ToArray();
            if (tokens is not null)
            {
                r.CheckKeys(tokens, tw, names);
            }

            if (usd is not null)
            {
                r.CheckKeys(usd, uw, names);
            }

            var entries = new List<KeyValuePair<(string Window, BudgetUnit Unit), decimal>>();
            void Set(string window, BudgetUnit unit, decimal? limit)
            {
                if (limit is { } l)
                {
                    entries.Add(KeyValuePair.Create((window, unit), l));
                }
            }

            foreach (var window in names)
            {
                Set(window, BudgetUnit.Tokens, tokens is null ? null : r.Long(tokens, window, tw, min: 0));
            }

            foreach (var window in names)
            {
                Set(window, BudgetUnit.Usd, usd is null ? null : r.Decimal(usd, window, uw));
            }

            Set(BudgetWindows.Run, BudgetUnit.Tokens, r.Long(b, "run_tokens", bw, min: 0));
            Set(BudgetWindows.Run, BudgetUnit.Usd, r.Decimal(b, "run_usd", bw));
            budgets = new BudgetLimits(entries);
        }

        return budgets;
    }

    internal static bool IsKeyHash(string hash) => KeyHashPattern().IsMatch(hash);

    [GeneratedRegex("^sha256:[0-9a-fA-F]{64}$")]
    private static partial Regex KeyHashPattern();
}
