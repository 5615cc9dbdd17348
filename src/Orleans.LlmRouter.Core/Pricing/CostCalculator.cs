using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Pricing;

/// <summary>
/// Prices token usage in USD from per-1M-token list prices. Money is decimal throughout.
/// <para>
/// Rules (<see cref="Cost(ModelPricing, BilledTokens)"/>): the price tier is chosen by the whole prompt (the highest
/// long-context tier whose threshold the prompt is above, else the base prices). Uncached prompt tokens are billed at
/// <c>input</c>; cache reads at <c>cached_input</c> (else <c>input</c>); five-minute cache writes at
/// <c>cache_write</c> (else <c>input</c>); one-hour cache writes at <c>cache_write_1h</c> (else <c>cache_write</c>,
/// else <c>input</c>); reasoning tokens at <c>reasoning</c> (else <c>output</c>); the rest of the completion at
/// <c>output</c>.
/// </para>
/// </summary>
internal static class CostCalculator
{
    private const decimal PerMillion = 1_000_000m;

    /// <summary>
    /// Cost of a call. <paramref name="cachedTokens"/> is the subset of <paramref name="promptTokens"/> read from cache.
    /// Kept for callers without cache-write or reasoning counts; the same as
    /// <see cref="Cost(ModelPricing, BilledTokens)"/> with those counts zero.
    /// </summary>
    public static decimal Cost(ModelPricing pricing, long promptTokens, long completionTokens, long cachedTokens = 0) =>
        Cost(pricing, new BilledTokens(promptTokens, completionTokens, cachedTokens));

    /// <summary>Cost of a call's billed token counts (see <see cref="BilledTokens"/> for what each count holds).</summary>
    /// <remarks>
    /// Counts are made consistent before pricing: negative counts are zero, cache reads are capped at the prompt, cache
    /// writes at the prompt left after the reads, the one-hour writes at the writes, reasoning at the completion.
    /// </remarks>
    public static decimal Cost(ModelPricing pricing, BilledTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(pricing);
        var prompt = Math.Max(tokens.Prompt, 0);
        var cached = Math.Clamp(tokens.Cached, 0, prompt);
        var write = Math.Clamp(tokens.CacheWrite, 0, prompt - cached);
        var write1h = Math.Clamp(tokens.CacheWrite1h, 0, write);
        var write5m = write - write1h;
        var uncached = prompt - cached - write;
        var completion = Math.Max(tokens.Completion, 0);
        var reasoning = Math.Clamp(tokens.Reasoning, 0, completion);

        var rates = Rates.For(pricing, prompt);
        var sum = (uncached * rates.Input)
            + (cached * rates.CachedInput)
            + (write5m * rates.CacheWrite)
            + (write1h * rates.CacheWrite1h)
            + ((completion - reasoning) * rates.Output)
            + (reasoning * rates.Reasoning);
        return sum / PerMillion;
    }

    /// <summary>
    /// Worst-case cost of a call before it is made, for reservations (a reservation must not be below what the call can
    /// cost): every prompt token at the dearest price a prompt token can have in the tier of that prompt size (input or
    /// a cache write), every output token used at the dearer of the output and reasoning prices.
    /// </summary>
    public static decimal Estimate(ModelPricing pricing, long promptTokens, long maxOutputTokens, bool mayWriteCache = false)
    {
        ArgumentNullException.ThrowIfNull(pricing);
        var prompt = Math.Max(promptTokens, 0);
        var rates = Rates.For(pricing, prompt);

        // Cache writes are billed only when the request asks for them (Anthropic's cache_control); OpenAI-style
        // automatic caching has no write charge. Without that, the prompt's worst case is its input (or cached) price.
        var input = mayWriteCache
            ? Math.Max(rates.Input, Math.Max(rates.CachedInput, Math.Max(rates.CacheWrite, rates.CacheWrite1h)))
            : Math.Max(rates.Input, rates.CachedInput);
        var output = Math.Max(rates.Output, rates.Reasoning);
        return ((prompt * input) + (Math.Max(maxOutputTokens, 0) * output)) / PerMillion;
    }

    /// <summary>The prices that apply to one call, every fall-back resolved.</summary>
    private readonly record struct Rates(decimal Input, decimal CachedInput, decimal CacheWrite, decimal CacheWrite1h, decimal Output, decimal Reasoning)
    {
        public static Rates For(ModelPricing pricing, long prompt)
        {
            LongContextPricing? tier = null;
            foreach (var t in pricing.LongContext)
            {
                if (prompt > t.ThresholdTokens && (tier is null || t.ThresholdTokens > tier.ThresholdTokens))
                {
                    tier = t;
                }
            }

            return tier is null
                ? Of(pricing.Input, pricing.CachedInput, pricing.CacheWrite, pricing.CacheWrite1h, pricing.Output, pricing.Reasoning)
                : Of(tier.Input, tier.CachedInput, tier.CacheWrite, tier.CacheWrite1h, tier.Output, tier.Reasoning);
        }

        private static Rates Of(decimal input, decimal? cached, decimal? write, decimal? write1h, decimal output, decimal? reasoning)
        {
            var write5m = write ?? input;
            return new Rates(input, cached ?? input, write5m, write1h ?? write5m, output, reasoning ?? output);
        }
    }
}
