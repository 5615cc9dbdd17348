namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>YAML names of <see cref="BalanceStrategy"/> (snake_case).</summary>
internal static class BalanceStrategyNames
{
    private static readonly Dictionary<string, BalanceStrategy> ByName = new(StringComparer.Ordinal)
    {
        ["weighted"] = BalanceStrategy.Weighted,
        ["least_busy"] = BalanceStrategy.LeastBusy,
        ["lowest_latency"] = BalanceStrategy.LowestLatency,
        ["usage_based"] = BalanceStrategy.UsageBased,
        ["cheapest"] = BalanceStrategy.Cheapest,
    };

    /// <summary>All valid names, for error messages.</summary>
    public static IEnumerable<string> All => ByName.Keys;

    public static bool TryParse(string name, out BalanceStrategy strategy) => ByName.TryGetValue(name, out strategy);

    public static string ToName(this BalanceStrategy strategy) => ByName.First(kv => kv.Value == strategy).Key;
}
