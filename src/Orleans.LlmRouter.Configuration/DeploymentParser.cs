using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

/// <summary>
/// <c>deployments:</c> of a model — each <c>{id, provider, provider_model, weight, limits, circuit_breaker, pricing}</c>
/// — and its <c>balance:</c>. Checks what one model's list can tell (ids, duplicates, weights); whether each provider
/// exists is checked with the whole catalog (<see cref="CatalogLoader"/>).
/// </summary>
internal static class DeploymentParser
{
    public static IReadOnlyList<DeploymentDefinition> Parse(YamlNodeReader r, YamlNode node, string what)
    {
        var list = new List<DeploymentDefinition>();
        var items = r.Items(node, $"deployments of {what}").ToList();
        if (node is YamlSequenceNode && items.Count == 0)
        {
            r.Error(node, $"'deployments' of {what} must list at least one deployment");
        }

        foreach (var map in items)
        {
            r.CheckKeys(map, $"a deployment of {what}", "id", "provider", "provider_model", "weight", "limits", "circuit_breaker", "pricing", "description");
            var provider = r.String(map, "provider", $"a deployment of {what}", required: true);
            var id = r.String(map, "id", $"a deployment of {what}") ?? provider;
            var dw = id is null ? $"a deployment of {what}" : $"deployment '{id}' of {what}";
            var providerModel = r.String(map, "provider_model", dw, required: true);
            var weight = 1;
            if (r.Get(map, "weight") is { } weightNode)
            {
                if (weightNode is YamlScalarNode { Value: { } text } && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var w) && w > 0)
                {
                    weight = w;
                }
                else
                {
                    r.Error(weightNode, $"'weight' of {dw} must be a positive whole number, not '{(weightNode as YamlScalarNode)?.Value}'");
                }
            }

            if (id is not null && !CatalogLoader.IsValidName(id))
            {
                r.Error(r.Get(map, "id") ?? map, $"deployment id '{id}' of {what} has characters outside letters, digits and . _ : / -");
            }

            var limitsNode = r.Map(map, "limits", dw);
            var limits = limitsNode is null ? null : ProviderParser.ParseLimits(r, limitsNode, dw);
            var breaker = ProviderParser.ParseBreaker(r, r.Map(map, "circuit_breaker", dw), dw);
            var pricingNode = r.Map(map, "pricing", dw);
            var pricing = pricingNode is null ? null : ModelParser.ParsePricing(r, pricingNode, dw);
            if (id is null || provider is null || providerModel is null)
            {
                continue;
            }

            if (list.FirstOrDefault(d => d.Id == id) is { } sameId)
            {
                r.Error(map, $"duplicate deployment '{id}' of {what} (first defined at {sameId.Location}); give each deployment on one provider its own 'id'");
                continue;
            }

            if (list.FirstOrDefault(d => d.Provider == provider && d.ProviderModel == providerModel) is { } same)
            {
                r.Error(map, $"duplicate deployment of {what}: '{id}' and '{same.Id}' (at {same.Location}) both call '{providerModel}' on provider '{provider}'");
                continue;
            }

            list.Add(new DeploymentDefinition(id, provider, providerModel, weight, limits, breaker, pricing, r.At(map)));
        }

        return list;
    }

    public static BalanceStrategy Balance(YamlNodeReader r, YamlMappingNode model, string what)
    {
        var name = r.String(model, "balance", what);
        if (name is null)
        {
            return BalanceStrategy.Weighted;
        }

        if (BalanceStrategyNames.TryParse(name, out var strategy))
        {
            return strategy;
        }

        r.Error(r.Get(model, "balance")!, $"unknown balance '{name}' of {what} (known: {string.Join(", ", BalanceStrategyNames.All)})");
        return BalanceStrategy.Weighted;
    }
}
