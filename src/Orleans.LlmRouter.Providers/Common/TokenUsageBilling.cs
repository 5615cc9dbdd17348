using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Pricing;

namespace Orleans.LlmRouter.Providers.Common;

/// <summary>From an adapter's normalised <see cref="TokenUsage"/> to the counts <see cref="CostCalculator"/> prices.</summary>
internal static class TokenUsageBilling
{
    /// <summary>
    /// The billed counts of <paramref name="usage"/>: the same subsets (cache reads and writes of the prompt, the one-hour
    /// part of the writes, reasoning of the completion), so <c>CostCalculator.Cost(pricing, usage.ToBilledTokens())</c>
    /// prices every kind of token the provider reported.
    /// </summary>
    public static BilledTokens ToBilledTokens(this TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return new BilledTokens(usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens, usage.CacheWriteTokens, usage.CacheWrite1hTokens, usage.ReasoningTokens);
    }
}
