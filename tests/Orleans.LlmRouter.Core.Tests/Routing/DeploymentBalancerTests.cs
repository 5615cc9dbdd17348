using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;

namespace Orleans.LlmRouter.Core.Tests.Routing;

public sealed class DeploymentBalancerTests
{
    private static DeploymentLoad Load(int weight = 1, int inFlight = 0, double latency = 0, double headroom = 1, decimal cost = 1m) =>
        new(weight, inFlight, latency, headroom, cost);

    private static Dictionary<int, int> Firsts(BalanceStrategy strategy, DeploymentLoad[] loads, int runs = 4000, int seed = 7)
    {
        var random = new Random(seed);
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < runs; i++)
        {
            var order = DeploymentBalancer.Order(strategy, loads, random.NextDouble);
            Assert.Equal(loads.Length, order.Distinct().Count()); // every deployment once: the failover order
            counts[order[0]] = counts.GetValueOrDefault(order[0]) + 1;
        }

        return counts;
    }

    [Fact]
    public void Weighted_picks_by_weight()
    {
        var counts = Firsts(BalanceStrategy.Weighted, [Load(1), Load(1), Load(2)]);

        Assert.InRange(counts[0] / 40.0, 22, 28);
        Assert.InRange(counts[1] / 40.0, 22, 28);
        Assert.InRange(counts[2] / 40.0, 47, 53);
    }

    [Fact]
    public void Weighted_with_an_evenly_spread_pick_matches_the_weights_within_a_call_over_a_short_run()
    {
        DeploymentLoad[] loads = [Load(1), Load(1), Load(2)];
        var random = new Random(5);
        var counts = new int[3];
        for (var k = 1; k <= 40; k++)
        {
            var pick = (0.37 + (k * 0.6180339887498949)) % 1.0; // a golden-ratio rotation, as the router draws it
            var order = DeploymentBalancer.Order(BalanceStrategy.Weighted, loads, random.NextDouble, pick);
            Assert.Equal(3, order.Distinct().Count());
            counts[order[0]]++;
        }

        Assert.InRange(counts[0], 9, 11);
        Assert.InRange(counts[1], 9, 11);
        Assert.InRange(counts[2], 19, 21);
    }

    [Fact]
    public void Least_busy_picks_the_fewest_in_flight_and_breaks_ties_by_weight()
    {
        Assert.Equal(4000, Firsts(BalanceStrategy.LeastBusy, [Load(inFlight: 3), Load(inFlight: 1), Load(inFlight: 2)])[1]);

        var tied = Firsts(BalanceStrategy.LeastBusy, [Load(3, inFlight: 1), Load(1, inFlight: 1), Load(1, inFlight: 5)]);
        Assert.False(tied.ContainsKey(2));
        Assert.InRange(tied[0] / 40.0, 70, 80);
    }

    [Fact]
    public void Lowest_latency_prefers_the_fastest_and_explores_the_others_a_small_share()
    {
        var counts = Firsts(BalanceStrategy.LowestLatency, [Load(latency: 300), Load(latency: 20), Load(latency: 900)]);

        Assert.InRange(counts[1] / 40.0, 88, 92);
        Assert.InRange(counts.GetValueOrDefault(0) / 40.0, 3, 7); // the exploration share, split evenly over the others
        Assert.InRange(counts.GetValueOrDefault(2) / 40.0, 3, 7);
    }

    [Fact]
    public void Lowest_latency_falls_over_in_latency_order()
    {
        var random = new Random(3);
        var order = Enumerable.Range(0, 200)
            .Select(_ => DeploymentBalancer.Order(BalanceStrategy.LowestLatency, [Load(latency: 300), Load(latency: 20), Load(latency: 900)], random.NextDouble))
            .First(o => o[0] == 1);

        Assert.Equal([1, 0, 2], order);
    }

    [Fact]
    public void Usage_based_picks_the_most_headroom()
    {
        Assert.Equal(4000, Firsts(BalanceStrategy.UsageBased, [Load(headroom: 0.2), Load(headroom: 0.9), Load(headroom: 0.5)])[1]);
    }

    [Fact]
    public void Cheapest_picks_the_lowest_estimated_cost()
    {
        Assert.Equal(4000, Firsts(BalanceStrategy.Cheapest, [Load(cost: 0.3m), Load(cost: 0.1m), Load(cost: 0.2m)])[1]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_order()
    {
        DeploymentLoad[] loads = [Load(1), Load(2), Load(3), Load(4), Load(5)];
        var a = new Random(11);
        var b = new Random(11);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(DeploymentBalancer.Order(BalanceStrategy.Weighted, loads, a.NextDouble), DeploymentBalancer.Order(BalanceStrategy.Weighted, loads, b.NextDouble));
        }
    }
}
