namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// One long-context price tier, USD per one million tokens: it applies to a call whose whole prompt (cache reads and
/// writes included) is above <see cref="ThresholdTokens"/> (e.g. prompts over 200k tokens). Each price means what it
/// means in <see cref="ModelPricing"/>; the catalog loader requires a tier to have every cache and reasoning price its
/// model's base pricing has, so no token silently falls back to the full input price.
/// </summary>
public sealed record LongContextPricing(
    long ThresholdTokens,
    decimal Input,
    decimal Output,
    decimal? CachedInput = null,
    decimal? CacheWrite = null,
    decimal? CacheWrite1h = null,
    decimal? Reasoning = null);
