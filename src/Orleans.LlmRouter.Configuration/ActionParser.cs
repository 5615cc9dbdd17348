using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

internal static class ActionParser
{
    public static ActionDefinition? Parse(YamlNodeReader r, YamlMappingNode map, List<CatalogLoader.ChainRef> chainRefs)
    {
        r.CheckKeys(map, "an action", "name", "description", "requires", "strategies", "cache");
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

        var cache = CacheParser.Parse(r, map, what, tenant: false);
        if (name is null)
        {
            return null;
        }

        var action = new ActionDefinition(name, r.String(map, "description", what), requires, strategies, r.At(map)) { Cache = cache };
        chainRefs.AddRange(pending.Select(p => new CatalogLoader.ChainRef(action, p.Strategy, p.Model, r.At(p.Node))));
        return action;
    }
}
