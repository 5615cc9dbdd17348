using System.Text.RegularExpressions;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

internal static class ProviderParser
{
    public static ProviderDefinition? Parse(YamlNodeReader r, YamlMappingNode map)
    {
        r.CheckKeys(map, "a provider", "id", "type", "base_url", "api_key_env", "timeout_seconds", "priority", "enabled", "limits", "circuit_breaker", "retry", "options", "description", "health_check_seconds", "stream_idle_timeout_seconds");
        var id = r.String(map, "id", "a provider", required: true);
        var what = id is null ? "a provider" : $"provider '{id}'";
        var type = r.String(map, "type", what, required: true);
        var baseUrl = r.String(map, "base_url", what);
        if (baseUrl is not null && !Uri.TryCreate(baseUrl, UriKind.Absolute, out _))
        {
            r.Error(r.Get(map, "base_url")!, $"'base_url' of {what} must be an absolute URL");
        }

        var apiKeyEnv = r.String(map, "api_key_env", what);
        var timeout = r.Int(map, "timeout_seconds", what, min: 1) ?? 120;
        var priority = r.Int(map, "priority", what, min: 0) ?? 100;
        var enabled = r.Bool(map, "enabled", what) ?? true;
        var limits = ParseLimits(r, r.Map(map, "limits", what), what);
        var breaker = ParseBreaker(r, r.Map(map, "circuit_breaker", what), what) ?? BreakerSettings.Default;

        var retry = RetrySettings.Default;
        if (r.Map(map, "retry", what) is { } rt)
        {
            var rw = $"retry of {what}";
            r.CheckKeys(rt, rw, "max_attempts", "base_delay_ms", "max_delay_ms");
            retry = new RetrySettings(
                r.Int(rt, "max_attempts", rw, min: 1) ?? 3,
                r.Int(rt, "base_delay_ms", rw, min: 0) is { } bd ? TimeSpan.FromMilliseconds(bd) : null,
                r.Int(rt, "max_delay_ms", rw, min: 0) is { } md ? TimeSpan.FromMilliseconds(md) : null);
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (r.Map(map, "options", what) is { } o)
        {
            foreach (var (k, v) in o.Children)
            {
                if (k is YamlScalarNode { Value: { } key } && v is YamlScalarNode { Value: { } value })
                {
                    options[key] = value;
                }
                else
                {
                    r.Error(k, $"options of {what} must be simple key: value pairs");
                }
            }
        }

        if (id is not null && !CatalogLoader.IsValidName(id))
        {
            r.Error(r.Get(map, "id")!, $"provider id '{id}' has characters outside letters, digits and . _ : / -");
        }

        var healthCheck = r.Int(map, "health_check_seconds", what, min: 1);
        var streamIdle = r.Int(map, "stream_idle_timeout_seconds", what, min: 1);
        return id is null || type is null
            ? null
            : new ProviderDefinition(id, type, baseUrl, apiKeyEnv, TimeSpan.FromSeconds(timeout), priority, enabled, limits, breaker, retry, options, r.At(map))
            {
                HealthCheckInterval = healthCheck is { } h ? TimeSpan.FromSeconds(h) : null,
                StreamIdleTimeout = streamIdle is { } si ? TimeSpan.FromSeconds(si) : ProviderDefinition.DefaultStreamIdleTimeout,
            };
    }

    internal static BreakerSettings? ParseBreaker(YamlNodeReader r, YamlMappingNode? b, string what)
    {
        if (b is null)
        {
            return null;
        }

        var bw = $"circuit_breaker of {what}";
        r.CheckKeys(b, bw, "failure_ratio", "minimum_calls", "window_seconds", "break_seconds");
        return new BreakerSettings(
            r.Double(b, "failure_ratio", bw, 0.01, 1.0) ?? 0.5,
            r.Int(b, "minimum_calls", bw, min: 1) ?? 10,
            r.Int(b, "window_seconds", bw, min: 1) is { } w ? TimeSpan.FromSeconds(w) : null,
            r.Int(b, "break_seconds", bw, min: 1) is { } s ? TimeSpan.FromSeconds(s) : null);
    }

    internal static ProviderLimits ParseLimits(YamlNodeReader r, YamlMappingNode? map, string what)
    {
        if (map is null)
        {
            return ProviderLimits.Unlimited;
        }

        var lw = $"limits of {what}";
        r.CheckKeys(map, lw, "rpm", "tpm", "max_concurrency");
        return new ProviderLimits(r.Int(map, "rpm", lw, min: 1), r.Long(map, "tpm", lw, min: 1), r.Int(map, "max_concurrency", lw, min: 1));
    }
}

internal static class ModelParser
{
    public static ModelDefinition? Parse(YamlNodeReader r, YamlMappingNode map, List<CatalogLoader.AliasRef>? aliasRefs = null)
    {
        r.CheckKeys(map, "a model", "name", "provider", "provider_model", "capabilities", "context_window", "max_output_tokens", "pricing", "tier", "description", "limits", "circuit_breaker", "deployments", "balance", "aliases");
        var name = r.String(map, "name", "a model", required: true);
        var what = name is null ? "a model" : $"model '{name}'";
        var deploymentsNode = r.Get(map, "deployments");
        var deployments = deploymentsNode is null ? [] : DeploymentParser.Parse(r, deploymentsNode, what);
        var balance = DeploymentParser.Balance(r, map, what);
        if (deploymentsNode is not null)
        {
            foreach (var key in new[] { "provider", "provider_model", "limits", "circuit_breaker" })
            {
                if (r.Get(map, key) is { } single)
                {
                    r.Error(single, $"{what} has 'deployments': '{key}' belongs in each deployment");
                }
            }
        }
        else if (r.Get(map, "balance") is { } balanceNode)
        {
            r.Error(balanceNode, $"'balance' of {what} needs 'deployments' to balance");
        }

        var provider = deploymentsNode is null ? r.String(map, "provider", what, required: true) : deployments.Count > 0 ? deployments[0].Provider : null;
        var providerModel = deploymentsNode is null ? r.String(map, "provider_model", what, required: true) : deployments.Count > 0 ? deployments[0].ProviderModel : null;
        var capabilities = Capabilities(r, r.StringList(map, "capabilities", what, required: true), what);
        if (capabilities.Count == 0 && r.Get(map, "capabilities") is { } capsNode)
        {
            r.Error(capsNode, $"{what} needs at least one capability");
        }

        var context = r.Int(map, "context_window", what, required: true, min: 1);
        var maxOutput = r.Int(map, "max_output_tokens", what, required: true, min: 1);
        if (context is not null && maxOutput is not null && maxOutput > context)
        {
            r.Error(r.Get(map, "max_output_tokens")!, $"max_output_tokens of {what} exceeds its context_window");
        }

        ModelPricing? pricing = null;
        var pricingNode = r.Map(map, "pricing", what);
        if (pricingNode is null)
        {
            if (r.Get(map, "pricing") is null)
            {
                r.Error(map, $"{what} is missing required field 'pricing' (use input: 0 and output: 0 for a free model)");
            }
        }
        else
        {
            pricing = ParsePricing(r, pricingNode, what);
        }

        if (name is not null && !CatalogLoader.IsValidName(name))
        {
            r.Error(r.Get(map, "name")!, $"model name '{name}' has characters outside letters, digits and . _ : / -");
        }

        var tier = r.String(map, "tier", what);
        var limitsNode = deploymentsNode is null ? r.Map(map, "limits", what) : null;
        var limits = limitsNode is null ? null : ProviderParser.ParseLimits(r, limitsNode, what);
        var breaker = deploymentsNode is null ? ProviderParser.ParseBreaker(r, r.Map(map, "circuit_breaker", what), what) : null;
        var aliases = new List<string>();
        foreach (var (alias, node) in r.StringList(map, "aliases", what))
        {
            if (!CatalogLoader.IsValidName(alias))
            {
                r.Error(node, $"alias '{alias}' of {what} has characters outside letters, digits and . _ : / -");
            }
            else if (alias == Orleans.LlmRouter.Core.Routing.RouteQuery.Auto || alias.StartsWith("action:", StringComparison.Ordinal))
            {
                r.Error(node, $"alias '{alias}' of {what} is reserved ('auto' and 'action:<name>' route by action)");
            }
            else if (aliases.Contains(alias) || alias == name)
            {
                r.Error(node, $"alias '{alias}' of {what} is listed twice");
            }
            else
            {
                aliases.Add(alias);
                if (name is not null)
                {
                    aliasRefs?.Add(new CatalogLoader.AliasRef(alias, name, r.At(node)));
                }
            }
        }

        return name is null || provider is null || providerModel is null || context is null || maxOutput is null || pricing is null
            ? null
            : new ModelDefinition(name, provider, providerModel, capabilities, context.Value, maxOutput.Value, pricing, tier, r.At(map), limits, breaker)
            {
                Deployments = deployments,
                Balance = balance,
                Aliases = aliases,
            };
    }

    private static readonly string[] PriceKeys = ["input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning"];

    /// <summary>
    /// <c>pricing: {input, output, cached_input, cache_write, cache_write_1h, reasoning, long_context}</c>, where
    /// <c>long_context</c> is one tier (a mapping) or a list of tiers, each <c>{above_tokens, input, output, …}</c>.
    /// </summary>
    internal static ModelPricing? ParsePricing(YamlNodeReader r, YamlMappingNode map, string what)
    {
        var pw = $"pricing of {what}";
        r.CheckKeys(map, pw, [.. PriceKeys, "long_context"]);
        var input = r.Decimal(map, "input", pw, required: true);
        var output = r.Decimal(map, "output", pw, required: true);
        var cached = r.Decimal(map, "cached_input", pw);
        var write = r.Decimal(map, "cache_write", pw);
        var write1h = r.Decimal(map, "cache_write_1h", pw);
        var reasoning = r.Decimal(map, "reasoning", pw);
        var tiers = new List<LongContextPricing>();
        var ok = true;
        if (r.Get(map, "long_context") is { } lcNode)
        {
            IEnumerable<YamlMappingNode> tierNodes = lcNode switch
            {
                YamlMappingNode single => [single],
                YamlSequenceNode => r.Items(lcNode, $"long_context of {pw}"),
                _ => Invalid(r, lcNode, $"'long_context' of {pw} must be a mapping or a list of mappings"),
            };
            foreach (var lc in tierNodes)
            {
                var lw = $"long_context tier of {pw}";
                r.CheckKeys(lc, lw, ["above_tokens", .. PriceKeys]);
                var above = r.Long(lc, "above_tokens", lw, required: true, min: 1);
                var li = r.Decimal(lc, "input", lw, required: true);
                var lo = r.Decimal(lc, "output", lw, required: true);
                var tier = new LongContextPricing(
                    above ?? 0,
                    li ?? 0,
                    lo ?? 0,
                    TierPrice(r, lc, "cached_input", cached, lw),
                    TierPrice(r, lc, "cache_write", write, lw),
                    TierPrice(r, lc, "cache_write_1h", write1h, lw),
                    TierPrice(r, lc, "reasoning", reasoning, lw));
                if (above is null || li is null || lo is null)
                {
                    ok = false;
                    continue;
                }

                if (tiers.Count > 0 && above.Value <= tiers[^1].ThresholdTokens)
                {
                    r.Error(r.Get(lc, "above_tokens")!, $"'above_tokens' of {lw} must be above the previous tier's ({above.Value} is not above {tiers[^1].ThresholdTokens}): tiers are listed in increasing order");
                    ok = false;
                }

                tiers.Add(tier);
            }
        }

        return input is null || output is null || !ok
            ? null
            : new ModelPricing(input.Value, output.Value, cached, write, write1h, reasoning) { LongContext = tiers };
    }

    /// <summary>A tier's price for <paramref name="key"/>; required when the base pricing has one (no silent fall-back to the input or output price).</summary>
    private static decimal? TierPrice(YamlNodeReader r, YamlMappingNode tier, string key, decimal? basePrice, string what)
    {
        var price = r.Decimal(tier, key, what);
        if (price is null && basePrice is not null && r.Get(tier, key) is null)
        {
            r.Error(tier, $"{what} is missing '{key}': the base pricing has one, and without it these tokens would be billed at the tier's {(key == "reasoning" ? "output" : "input")} price");
        }

        return price;
    }

    private static IEnumerable<YamlMappingNode> Invalid(YamlNodeReader r, YamlNode node, string message)
    {
        r.Error(node, message);
        return [];
    }

    internal static HashSet<Capability> Capabilities(YamlNodeReader r, IReadOnlyList<(string Value, YamlNode Node)> names, string what)
    {
        var set = new HashSet<Capability>();
        foreach (var (value, node) in names)
        {
            if (CapabilityNames.TryParse(value, out var capability))
            {
                set.Add(capability);
            }
            else
            {
                r.Error(node, $"unknown capability '{value}' in {what} (known: {string.Join(", ", CapabilityNames.All)})");
            }
        }

        return set;
    }
}

internal static class ActionParser
{
    public static ActionDefinition? Parse(YamlNodeReader r, YamlMappingNode map, List<CatalogLoader.ChainRef> chainRefs)
    {
        r.CheckKeys(map, "an action", "name", "description", "requires", "strategies");
        var name = r.String(map, "name", "an action", required: true);
        var what = name is null ? "an action" : $"action '{name}'";
        var requires = ModelParser.Capabilities(r, r.StringList(map, "requires", what), what);
        var strategies = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var pending = new List<(string Strategy, string Model, YamlNode Node)>();
        var strategiesNode = r.Map(map, "strategies", what);
        if (strategiesNode is null && r.Get(map, "strategies") is null)
        {
            r.Error(map, $"{what} is missing required field 'strategies' (a 'default' chain is mandatory)");
        }

        foreach (var (key, value) in strategiesNode?.Children ?? Enumerable.Empty<KeyValuePair<YamlNode, YamlNode>>())
        {
            var strategy = (key as YamlScalarNode)?.Value ?? string.Empty;
            var chain = r.StringList(value, $"strategy '{strategy}' of {what}");
            if (chain.Count == 0)
            {
                r.Error(value, $"strategy '{strategy}' of {what} must list at least one model");
                continue;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (model, node) in chain)
            {
                if (!seen.Add(model))
                {
                    r.Error(node, $"strategy '{strategy}' of {what} lists model '{model}' twice");
                }

                pending.Add((strategy, model, node));
            }

            strategies[strategy] = chain.Select(c => c.Value).Distinct(StringComparer.Ordinal).ToList();
        }

        if (name is null)
        {
            return null;
        }

        var action = new ActionDefinition(name, r.String(map, "description", what), requires, strategies, r.At(map));
        chainRefs.AddRange(pending.Select(p => new CatalogLoader.ChainRef(action, p.Strategy, p.Model, r.At(p.Node))));
        return action;
    }
}

internal static partial class TenantParser
{
    public static TenantDefinition? Parse(YamlNodeReader r, YamlMappingNode map)
    {
        r.CheckKeys(map, "a tenant", "id", "name", "key_hashes", "budgets", "limits", "allowed_models", "allowed_actions", "soft_alert_threshold", "time_zone", "alert_webhook");
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

        var budgets = TenantBudgets.None;
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
            budgets = new TenantBudgets(entries);
        }

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
        return id is null
            ? null
            : new TenantDefinition(id, r.String(map, "name", what), keys, budgets, limits, models, actions, threshold, timeZone, r.At(map)) { AlertWebhook = webhook };
    }

    [GeneratedRegex("^sha256:[0-9a-fA-F]{64}$")]
    private static partial Regex KeyHashPattern();
}
