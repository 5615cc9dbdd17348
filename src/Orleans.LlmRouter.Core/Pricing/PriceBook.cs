using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Pricing;

/// <summary>Cost comparisons over the catalog: what a call of a given size costs on each model, and the cheapest.</summary>
internal static class PriceBook
{
    /// <summary>Quotes for the named models (all when empty), cheapest first. Unknown names are reported in <paramref name="unknown"/>.</summary>
    public static IReadOnlyList<ModelQuote> Compare(ModelCatalog catalog, IEnumerable<string> models, long inputTokens, long outputTokens, long cachedTokens, out IReadOnlyList<string> unknown)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var names = models.ToList();
        unknown = names.Where(n => !catalog.Models.ContainsKey(n)).ToList();
        var selected = names.Count == 0 ? catalog.Models.Values : names.Where(catalog.Models.ContainsKey).Select(n => catalog.Models[n]);
        return selected
            .Select(m => new ModelQuote(m.Name, m.Provider, catalog.ProviderOf(m).Enabled, CostCalculator.Cost(m.Pricing, inputTokens, outputTokens, cachedTokens), m.Pricing))
            .OrderBy(q => q.CostUsd)
            .ThenBy(q => q.Model, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The cheapest enabled model having every capability that fits the prompt in its context window.</summary>
    public static ModelQuote? Cheapest(ModelCatalog catalog, IReadOnlySet<Capability> capabilities, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(capabilities);
        return catalog.Models.Values
            .Where(m => catalog.ProviderOf(m).Enabled && capabilities.IsSubsetOf(m.Capabilities) && inputTokens < m.ContextWindow)
            .Select(m => new ModelQuote(m.Name, m.Provider, true, CostCalculator.Cost(m.Pricing, inputTokens, Math.Min(outputTokens, m.MaxOutputTokens)), m.Pricing))
            .OrderBy(q => q.CostUsd)
            .ThenBy(q => q.Model, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
