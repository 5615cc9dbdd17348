using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Routing;

/// <summary>
/// Orders the available deployments of a model for one call: the first is the one to call, the rest the failover
/// order. Every strategy starts from a weighted random permutation (Efraimidis–Spirakis: key u^(1/weight)), so the
/// strategies other than <see cref="BalanceStrategy.Weighted"/> break ties by weight. <see cref="BalanceStrategy.Weighted"/>
/// is random by weight: its first deployment is the one whose share of the cumulative weight holds the caller's
/// <c>pick</c>, the rest follow the permutation. Pure: the randomness comes from the caller.
/// </summary>
internal static class DeploymentBalancer
{
    /// <summary>Share of <see cref="BalanceStrategy.LowestLatency"/> calls sent to a random other deployment first, so a recovered or unmeasured one is tried again.</summary>
    public const double ExplorationShare = 0.1;

    /// <summary>
    /// The indexes of <paramref name="loads"/> in the order to try them. <paramref name="random"/> returns uniform
    /// numbers in [0, 1); the weighted first pick draws one of them too.
    /// </summary>
    public static int[] Order(BalanceStrategy strategy, IReadOnlyList<DeploymentLoad> loads, Func<double> random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Order(strategy, loads, random, random());
    }

    /// <summary>
    /// The indexes of <paramref name="loads"/> in the order to try them. <paramref name="random"/> returns uniform
    /// numbers in [0, 1); <paramref name="pick"/>, in [0, 1), chooses the first deployment of a weighted order by
    /// cumulative weight (a low-discrepancy sequence there makes the shares match the weights over short runs).
    /// </summary>
    public static int[] Order(BalanceStrategy strategy, IReadOnlyList<DeploymentLoad> loads, Func<double> random, double pick)
    {
        ArgumentNullException.ThrowIfNull(loads);
        ArgumentNullException.ThrowIfNull(random);
        var n = loads.Count;
        var keys = new double[n];
        for (var i = 0; i < n; i++)
        {
            // Larger key first; a weight-w item wins with probability proportional to w.
            var u = Math.Max(random(), double.Epsilon);
            keys[i] = Math.Log(u) / Math.Max(1, loads[i].Weight);
        }

        var order = Enumerable.Range(0, n).OrderByDescending(i => keys[i]).ToArray();
        switch (strategy)
        {
            case BalanceStrategy.LeastBusy:
                order = [.. order.OrderBy(i => loads[i].InFlight)];
                break;
            case BalanceStrategy.LowestLatency:
                order = [.. order.OrderBy(i => loads[i].LatencyMs)];
                if (n > 1 && random() < ExplorationShare)
                {
                    // Explore: one of the others, uniformly, goes first; the fastest is next.
                    var other = 1 + (int)Math.Min(n - 2, Math.Floor(random() * (n - 1)));
                    (order[0], order[other]) = (order[other], order[0]);
                    var explored = order[0];
                    order = [explored, .. order.Skip(1).OrderBy(i => loads[i].LatencyMs)];
                }

                break;
            case BalanceStrategy.UsageBased:
                order = [.. order.OrderByDescending(i => loads[i].Headroom)];
                break;
            case BalanceStrategy.Cheapest:
                order = [.. order.OrderBy(i => loads[i].EstimatedCostUsd)];
                break;
            case BalanceStrategy.Weighted:
            default:
                if (n > 1)
                {
                    var first = ByCumulativeWeight(loads, pick);
                    order = [first, .. order.Where(i => i != first)];
                }

                break;
        }

        return order;
    }

    /// <summary>The index whose slice of the cumulative weight (in list order) holds <paramref name="pick"/>.</summary>
    private static int ByCumulativeWeight(IReadOnlyList<DeploymentLoad> loads, double pick)
    {
        var total = 0.0;
        foreach (var load in loads)
        {
            total += Math.Max(1, load.Weight);
        }

        var target = Math.Clamp(pick, 0, 1) * total;
        var sum = 0.0;
        for (var i = 0; i < loads.Count; i++)
        {
            sum += Math.Max(1, loads[i].Weight);
            if (target < sum)
            {
                return i;
            }
        }

        return loads.Count - 1;
    }
}
