namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// List prices of a model in USD per one million tokens. <see cref="Input"/> prices uncached prompt tokens,
/// <see cref="CachedInput"/> prompt-cache reads, <see cref="CacheWrite"/> prompt-cache writes with the default
/// (five-minute) TTL and <see cref="CacheWrite1h"/> those with a one-hour TTL; <see cref="Output"/> prices completion
/// tokens and <see cref="Reasoning"/> the reasoning/thinking part of them when the provider prices it differently.
/// An unset price falls back as <see cref="Pricing.CostCalculator"/> documents. <see cref="LongContext"/> holds the
/// long-context tiers in strictly increasing threshold order (empty: one price at every prompt size).
/// </summary>
public sealed record ModelPricing(
    decimal Input,
    decimal Output,
    decimal? CachedInput = null,
    decimal? CacheWrite = null,
    decimal? CacheWrite1h = null,
    decimal? Reasoning = null)
{
    /// <summary>A model that costs nothing (local models).</summary>
    public static ModelPricing Free { get; } = new(0m, 0m, 0m);

    /// <summary>Long-context tiers, thresholds strictly increasing; the highest one the prompt is above applies.</summary>
    public IReadOnlyList<LongContextPricing> LongContext { get; init; } = [];
}
