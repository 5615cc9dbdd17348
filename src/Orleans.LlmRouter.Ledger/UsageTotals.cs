namespace Orleans.LlmRouter.Ledger;

/// <summary>Totals of a set of ledger rows.</summary>
internal sealed record UsageTotals(long Calls, long FailedCalls, long PromptTokens, long CompletionTokens, long CachedTokens, decimal CostUsd)
{
    public static UsageTotals Empty { get; } = new(0, 0, 0, 0, 0, 0m);

    public long TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>Reasoning tokens (part of <see cref="CompletionTokens"/>).</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Prompt tokens written to a provider's prompt cache, all TTLs (part of <see cref="PromptTokens"/>).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>The part of <see cref="CacheWriteTokens"/> written with a one-hour TTL.</summary>
    public long CacheWrite1hTokens { get; init; }

    /// <summary>Calls whose usage the gateway counted itself (the provider reported none).</summary>
    public long EstimatedCalls { get; init; }

    /// <summary>Calls answered from the response cache (hit or coalesced).</summary>
    public long CacheHits { get; init; }

    /// <summary>The upstream cost the response cache saved, in USD.</summary>
    public decimal SavedUsd { get; init; }

    /// <summary>The share of calls answered from the response cache (0 when there were none).</summary>
    public double CacheHitRate => Calls == 0 ? 0 : (double)CacheHits / Calls;

    /// <summary>The sum of two totals.</summary>
    public UsageTotals Plus(UsageTotals other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new UsageTotals(Calls + other.Calls, FailedCalls + other.FailedCalls, PromptTokens + other.PromptTokens,
            CompletionTokens + other.CompletionTokens, CachedTokens + other.CachedTokens, CostUsd + other.CostUsd)
        {
            ReasoningTokens = ReasoningTokens + other.ReasoningTokens,
            CacheWriteTokens = CacheWriteTokens + other.CacheWriteTokens,
            CacheWrite1hTokens = CacheWrite1hTokens + other.CacheWrite1hTokens,
            EstimatedCalls = EstimatedCalls + other.EstimatedCalls,
            CacheHits = CacheHits + other.CacheHits,
            SavedUsd = SavedUsd + other.SavedUsd,
        };
    }
}
