using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

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
