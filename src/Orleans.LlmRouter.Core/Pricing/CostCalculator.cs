using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Pricing;

/// <summary>Prices token usage in USD from per-1M-token list prices. Money is decimal throughout.</summary>
public static class CostCalculator
{
    private const decimal PerMillion = 1_000_000m;

    /// <summary>
    /// Cost of a call. <paramref name="cachedTokens"/> is the subset of <paramref name="promptTokens"/> read from cache,
    /// billed at the cached-input price (the input price when the model has none). The long-context tier applies
    /// when the prompt exceeds its threshold.
    /// </summary>
    public static decimal Cost(ModelPricing pricing, long promptTokens, long completionTokens, long cachedTokens = 0)
    {
        ArgumentNullException.ThrowIfNull(pricing);
        cachedTokens = Math.Clamp(cachedTokens, 0, Math.Max(promptTokens, 0));
        decimal input = pricing.Input, output = pricing.Output, cached = pricing.CachedInput ?? pricing.Input;
        if (pricing.LongContext is { } tier && promptTokens > tier.ThresholdTokens)
        {
            input = tier.Input;
            output = tier.Output;
            cached = tier.CachedInput ?? tier.Input;
        }

        var uncached = promptTokens - cachedTokens;
        return ((uncached * input) + (cachedTokens * cached) + (completionTokens * output)) / PerMillion;
    }

    /// <summary>Cost of a call's billed token counts (see <see cref="BilledTokens"/> for what each count holds).</summary>
    public static decimal Cost(ModelPricing pricing, BilledTokens tokens) =>
        Cost(pricing, tokens.Prompt, tokens.Completion, tokens.Cached);

    /// <summary>Worst-case cost of a call before it is made: every prompt token uncached, the full output used.</summary>
    public static decimal Estimate(ModelPricing pricing, long promptTokens, long maxOutputTokens) =>
        Cost(pricing, promptTokens, maxOutputTokens);
}
