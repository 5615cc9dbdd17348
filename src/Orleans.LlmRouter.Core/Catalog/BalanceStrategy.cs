namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>How a model with several deployments picks the one to call first (<c>balance:</c> in YAML).</summary>
public enum BalanceStrategy
{
    /// <summary>Random by weight (the default).</summary>
    Weighted,

    /// <summary>Fewest calls in flight, cluster-wide.</summary>
    LeastBusy,

    /// <summary>Lowest recent median latency, with a small exploration share so the others keep being measured.</summary>
    LowestLatency,

    /// <summary>Most rpm/tpm headroom left this minute.</summary>
    UsageBased,

    /// <summary>Lowest estimated cost of the call.</summary>
    Cheapest,
}
