using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>The response cache of a durable three-silo cluster: answers stored on PostgreSQL, billed exactly, and an outage served as misses.</summary>
[Collection(DurableClusterCollection.Name)]
public sealed class DurableResponseCacheTests(DurableClusterFixture fx)
{
    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { Temperature = 0 };

    private async Task<(long Tokens, decimal Usd)> LifetimeAsync(string tenant)
    {
        var w = (await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant)).GetUsageAsync()).Windows.Single(w => w.Window == "lifetime");
        return (w.Tokens, w.CostUsd);
    }

    [Fact]
    public async Task Identical_requests_on_a_durable_cluster_are_billed_once_upstream_and_recorded_for_each_caller()
    {
        fx.Database.RequireOrSkip();
        var text = "durable cache " + Guid.NewGuid().ToString("N");
        var contexts = Enumerable.Range(0, 30).Select(_ => new RouterContext("cached") { Model = "m" }).ToList();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var answers = await Task.WhenAll(contexts.Select(c => router.CompleteAsync(Ask(text), c)));
        Assert.Single(answers, a => a.Cache == CacheStatus.Miss);
        Assert.Single(answers.Select(a => a.Message.Text).Distinct());

        var ids = contexts.Select(c => c.RequestId).ToArray();
        Assert.Equal(30L, await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = 'cached' AND request_id = ANY($1)", (object)ids));
        Assert.Equal(1L, await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE request_id = ANY($1) AND cache = 'miss' AND cost_usd > 0", (object)ids));
        Assert.Equal(29L, await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE request_id = ANY($1) AND cache IN ('hit', 'coalesced') AND cost_usd = 0 AND saved_usd > 0", (object)ids));
        Assert.True(await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_cache_entries WHERE namespace = 't:cached'") >= 1);

        var sums = (await fx.Database.ScalarAsync<decimal>("SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE tenant_id = 'cached'"));
        Assert.Equal(sums, (await LifetimeAsync("cached")).Usd);
        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "cached");
    }

    [Fact]
    public async Task A_cache_whose_database_is_cut_serves_misses_and_loses_no_spend()
    {
        fx.Database.RequireOrSkip();
        var text = "cache outage " + Guid.NewGuid().ToString("N");
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var first = await router.CompleteAsync(Ask(text), new RouterContext("cached-outage") { Model = "m" });
        Assert.Equal(CacheStatus.Miss, first.Cache);

        var during = new List<string>();
        fx.Proxy!.Cut();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var context = new RouterContext("cached-outage") { Model = "m" };
                var answer = await router.CompleteAsync(Ask(text), context).WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(CacheStatus.Miss, answer.Cache); // stored answer unreadable: upstream again, never an error
                Assert.True(answer.CostUsd > 0m);
                during.Add(context.RequestId);
            }
        }
        finally
        {
            fx.Proxy.Restore();
        }

        // The spooled rows replay; the counters equal the ledger.
        long found = 0;
        for (var i = 0; i < 150 && found < during.Count; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            found = await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE request_id = ANY($1)", (object)during.ToArray());
        }

        Assert.Equal(during.Count, found);

        // The cache comes back once the database does (a failed store is left alone a few seconds, then tried again).
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? status;
        do
        {
            Assert.True(DateTime.UtcNow < until, "the cache did not serve a hit within 60 s of the database coming back");
            await Task.Delay(200, TestContext.Current.CancellationToken);
            status = (await router.CompleteAsync(Ask(text), new RouterContext("cached-outage") { Model = "m" })).Cache;
        }
        while (status != CacheStatus.Hit);

        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "cached-outage");
    }

    [Fact]
    public async Task A_near_duplicate_is_answered_from_postgresql_above_the_threshold_and_not_below_it()
    {
        fx.Database.RequireOrSkip();
        var marker = Guid.NewGuid().ToString("N")[..10];
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var first = await router.CompleteAsync(Ask($"what is the capital city of france {marker}"), new RouterContext("semantic") { Model = "m" });
        Assert.Equal(CacheStatus.Miss, first.Cache);
        var near = await router.CompleteAsync(Ask($"what is the capital city of france today {marker}"), new RouterContext("semantic") { Model = "m" });
        Assert.Equal(CacheStatus.Hit, near.Cache);
        Assert.Equal(first.Message.Text, near.Message.Text);
        var far = await router.CompleteAsync(Ask($"how do I bake sourdough bread at home {marker}"), new RouterContext("semantic") { Model = "m" });
        Assert.Equal(CacheStatus.Miss, far.Cache);
        Assert.Equal(2L, await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_cache_vectors WHERE namespace = 't:semantic' AND key IN (SELECT key FROM llm_cache_entries WHERE namespace = 't:semantic')"));
        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "semantic");
    }
}
