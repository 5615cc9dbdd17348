using System.Collections.Concurrent;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>Budget invariants with grain state and the ledger on a real PostgreSQL.</summary>
[Collection(DurableClusterCollection.Name)]
public sealed class DurableBudgetTests(DurableClusterFixture fx)
{
    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100 };

    private async Task<(long Tokens, decimal Usd, long Rows)> LedgerSums(string tenant) => (
        await fx.Database.ScalarAsync<long>("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint FROM llm_calls WHERE tenant_id = $1", tenant),
        await fx.Database.ScalarAsync<decimal>("SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE tenant_id = $1", tenant),
        await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));

    private async Task<WindowUsage> Lifetime(string tenant) =>
        (await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant)).GetUsageAsync()).Windows.Single(w => w.Window == "lifetime");

    /// <summary>Reconciled with no reservation in flight, allowing one reservation lease (6 s in this fixture) for the holders that died.</summary>
    private async Task EventuallyReconciledAsync(IGrainFactory grains, string tenant)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while ((await grains.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant)).GetUsageAsync()).ReservationsInFlight > 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }

        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, grains, tenant);
    }

    [Fact]
    public async Task B1_two_hundred_concurrent_calls_from_three_silos_never_settle_past_the_limit()
    {
        fx.Database.RequireOrSkip();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            try
            {
                await router.CompleteAsync(Ask($"durable concurrent {i}"), new RouterContext("small") { Model = "m" });
                return true;
            }
            catch (TokenBudgetExceededException)
            {
                return false;
            }
        }));

        var (tokens, usd, rows) = await LedgerSums("small");
        Assert.Contains(true, results);
        Assert.Contains(false, results);
        Assert.True(tokens <= 6000, $"the ledger holds {tokens} tokens over a 6000 daily limit");
        Assert.Equal(results.Count(r => r), rows);
        var lifetime = await Lifetime("small");
        Assert.Equal(tokens, lifetime.Tokens);
        Assert.Equal(usd, lifetime.CostUsd);
        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "small");
    }

    [Fact]
    public async Task B2_killing_a_silo_under_load_loses_no_delivered_response_and_counters_equal_the_ledger()
    {
        fx.Database.RequireOrSkip();
        var cluster = await fx.StartClusterAsync(); // its own cluster: this test kills a silo
        try
        {
            var router = cluster.Client.GetGrain<IRouterGrain>(0);
            var delivered = new ConcurrentBag<(string Tenant, string RequestId)>();
            using var stop = new CancellationTokenSource();
            var tenants = new[] { "t1", "t2", "t3" };
            var load = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var tenant = tenants[(worker + i) % 3];
                    var context = new RouterContext(tenant) { Model = "m" };
                    try
                    {
                        // Bounded: a call caught on the killed silo must not hold the test until the response timeout.
                        await router.CompleteAsync(Ask($"load {worker}/{i}"), context).WaitAsync(TimeSpan.FromSeconds(20));
                        delivered.Add((tenant, context.RequestId));
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // Calls in flight on the killed silo fail; they were never delivered.
                    }
                }
            })).ToList();

            // The load runs until stopped; the waits for it are bounded so a cluster that stops answering fails the test.
            await DeliveredAsync(delivered, 60, "before the kill");
            var victim = cluster.Silos[1];
            await cluster.KillSiloAsync(victim);
            await DeliveredAsync(delivered, delivered.Count + 60, "after the kill");

            await stop.CancelAsync();
            await Task.WhenAll(load);

            foreach (var tenant in tenants)
            {
                var ids = delivered.Where(d => d.Tenant == tenant).Select(d => d.RequestId).ToArray();
                var found = await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1 AND request_id = ANY($2) AND success", tenant, ids);
                Assert.Equal(ids.Length, found);

                var (tokens, usd, _) = await LedgerSums(tenant);
                var lifetime = (await cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant)).GetUsageAsync()).Windows.Single(w => w.Window == "lifetime");
                Assert.Equal(tokens, lifetime.Tokens);
                Assert.Equal(usd, lifetime.CostUsd);

                // Reservations of calls that were running on the killed silo come back within one lease term.
                await EventuallyReconciledAsync(cluster.Client, tenant);
            }
        }
        finally
        {
            await DurableClusterFixture.StopAsync(cluster);
        }
    }

    private static async Task DeliveredAsync(ConcurrentBag<(string Tenant, string RequestId)> delivered, int count, string when)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (delivered.Count < count)
        {
            Assert.True(DateTime.UtcNow < until, $"{delivered.Count} of {count} responses delivered {when} within 120 s");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task B2_a_second_activation_of_a_budget_grain_is_recounted_from_the_ledger()
    {
        fx.Database.RequireOrSkip();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        await router.CompleteAsync(Ask("before the other activation"), new RouterContext("dup") { Model = "m" });

        // What a second activation of the tenant's grain leaves behind (two can live for a moment while the grain
        // directory moves off a lost silo): a settled row under a sequence number this activation will also use, and a
        // write of the grain's state. Wait for this activation's own write first, so the other one is the newer.
        const string stateRow = "FROM orleansstorage WHERE grainidextensionstring = $1 AND graintypestring LIKE '%budget%'";
        var key = TenantBudgetKeys.For("dup");
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await fx.Database.ScalarAsync<long>("SELECT count(*) " + stateRow, key) == 0)
        {
            Assert.True(DateTime.UtcNow < until, "the budget grain never wrote its state");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var seq = await fx.Database.ScalarAsync<long>("SELECT max(tenant_seq) FROM llm_calls WHERE tenant_id = 'dup'");
        Assert.Equal(1L, await fx.Database.ScalarAsync<long>(
            "WITH i AS (INSERT INTO llm_calls (request_id, tenant_id, tenant_seq, provider, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, success) VALUES ('other-activation', 'dup', $1, 'sim', 'm', 11, 7, 0.0001, 5, true) RETURNING 1) SELECT count(*) FROM i",
            seq + 1));
        Assert.Equal(1L, await fx.Database.ScalarAsync<long>("WITH u AS (UPDATE orleansstorage SET version = version + 1 WHERE grainidextensionstring = $1 AND graintypestring LIKE '%budget%' RETURNING 1) SELECT count(*) FROM u", key));

        // This activation settles on (its write meets the other's state), steps down, and the next one recounts.
        await router.CompleteAsync(Ask("after the other activation"), new RouterContext("dup") { Model = "m" });
        var (tokens, usd, rows) = await LedgerSums("dup");
        Assert.Equal(3, rows);
        until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        WindowUsage lifetime;
        while ((lifetime = await Lifetime("dup")).Tokens != tokens)
        {
            Assert.True(DateTime.UtcNow < until, $"the counters hold {lifetime.Tokens} tokens, the ledger {tokens}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Equal(usd, lifetime.CostUsd);
        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "dup");
    }

    [Fact]
    public async Task B2_a_newer_activation_of_a_budget_grain_fences_off_the_older_one_and_every_call_is_counted_once()
    {
        // Two activations of one tenant's budget grain, here in two clusters on one database (in production, for a
        // moment while the grain moves between silos). Each activation raises the tenant's fence before its catch-up
        // read, so a settle the older one takes after that is refused (recorded nowhere), repeated, and counted by the
        // activation that records it: never a row in the ledger that no activation's counters hold.
        fx.Database.RequireOrSkip();
        var key = TenantBudgetKeys.For("fenced");
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        await router.CompleteAsync(Ask("first activation"), new RouterContext("fenced") { Model = "m" });

        var other = await fx.StartClusterAsync();
        try
        {
            await other.Client.GetGrain<IRouterGrain>(0).CompleteAsync(Ask("second activation"), new RouterContext("fenced") { Model = "m" });

            // The first cluster's activation is fenced off: its settle is refused, the router repeats it, it reaches a new
            // activation there (which fences off the second cluster's), and the call succeeds.
            await router.CompleteAsync(Ask("after the fence"), new RouterContext("fenced") { Model = "m" });

            // The second cluster's activation, fenced off now, refuses to record anything and leaves nothing behind.
            var refused = new UsageRecord("fenced-" + Guid.NewGuid().ToString("N"), "sim", "m", new TokenUsage(11, 7), 0.0001m, true);
            var error = await Assert.ThrowsAsync<BudgetGrainReplacedException>(() => other.Client.GetGrain<ITenantBudgetGrain>(key).SettleAsync(null, refused));
            Assert.Equal("fenced", error.TenantId);
            Assert.Equal(0L, await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_call_ids WHERE request_id = $1", refused.RequestId));

            var (tokens, usd, rows) = await LedgerSums("fenced");
            Assert.Equal(3, rows);
            var lifetime = await Lifetime("fenced");
            Assert.Equal(tokens, lifetime.Tokens);
            Assert.Equal(usd, lifetime.CostUsd);
            await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "fenced");
        }
        finally
        {
            await DurableClusterFixture.StopAsync(other);
        }
    }

    [Fact]
    public async Task A_postgresql_outage_mid_run_loses_nothing()
    {
        fx.Database.RequireOrSkip();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var delivered = new List<string>();
        async Task Call(string text)
        {
            var context = new RouterContext("outage") { Model = "m" };
            await router.CompleteAsync(Ask(text), context);
            delivered.Add(context.RequestId);
        }

        for (var i = 0; i < 5; i++)
        {
            await Call($"before {i}");
        }

        fx.Proxy!.Cut();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                await Call($"during {i}"); // served: the ledger spools to disk
            }
        }
        finally
        {
            fx.Proxy.Restore();
        }

        for (var i = 0; i < 5; i++)
        {
            await Call($"after {i}");
        }

        // A budget grain first activated after the outage reads its state on a fresh connection, not on one the outage
        // killed while it sat in the pool.
        await router.CompleteAsync(Ask("a tenant first seen after the outage"), new RouterContext("after-outage") { Model = "m" });

        // The spool replays in the background; wait until every delivered call is in the table.
        long found = 0;
        for (var i = 0; i < 150 && found < delivered.Count; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            found = await fx.Database.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = 'outage' AND request_id = ANY($1)", (object)delivered.ToArray());
        }

        Assert.Equal(delivered.Count, found);
        var (tokens, usd, _) = await LedgerSums("outage");
        var lifetime = await Lifetime("outage");
        Assert.Equal(tokens, lifetime.Tokens);
        Assert.Equal(usd, lifetime.CostUsd);
        await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, fx.Cluster.Client, "outage");
    }

    [Fact]
    public async Task A_new_cluster_on_the_same_database_sees_exactly_the_same_budgets_and_usage()
    {
        fx.Database.RequireOrSkip();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        for (var i = 0; i < 5; i++)
        {
            await router.CompleteAsync(Ask($"before restart {i}"), new RouterContext("t3") { Model = "m", RunId = "restart-run" });
        }

        var before = await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("t3")).GetUsageAsync();
        var restarted = await fx.StartClusterAsync();
        try
        {
            // A second cluster on the same database (the first keeps its activation; the new one reads storage + ledger).
            var after = await restarted.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("t3")).GetUsageAsync();
            Assert.Equal(before.Windows.Single(w => w.Window == "lifetime"), after.Windows.Single(w => w.Window == "lifetime"));
            Assert.Equal(before.Windows.Single(w => w.Key == "restart-run").Tokens, after.Windows.Single(w => w.Key == "restart-run").Tokens);
            Assert.Equal(before.Windows.Single(w => w.Key == "restart-run").CostUsd, after.Windows.Single(w => w.Key == "restart-run").CostUsd);
            await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, restarted.Client, "t3");
        }
        finally
        {
            await DurableClusterFixture.StopAsync(restarted);
        }
    }

    [Fact]
    public async Task A_new_cluster_on_the_same_database_sees_and_enforces_the_same_weekly_budget()
    {
        fx.Database.RequireOrSkip();
        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        var served = 0;
        while (served < 50)
        {
            try
            {
                await router.CompleteAsync(Ask($"fill the week {served}"), new RouterContext("weekly") { Model = "m" });
                served++;
            }
            catch (TokenBudgetExceededException ex)
            {
                Assert.Equal("weekly", ex.Window);
                break;
            }
        }

        Assert.InRange(served, 1, 49);
        var budget = fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("weekly"));
        var before = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly");
        // The new cluster rebuilds the week from grain storage plus the ledger rows after its position (that the stored
        // window map alone carries it is shown with memory storage in the grains tests).
        await fx.Cluster.DeactivateAsync(budget);
        await fx.Cluster.WaitForDeactivationAsync(budget);
        var restarted = await fx.StartClusterAsync();
        try
        {
            var after = await restarted.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("weekly")).GetUsageAsync();
            Assert.Equal(before, after.Windows.Single(w => w.Window == "weekly"));
            var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => restarted.Client.GetGrain<IRouterGrain>(0).CompleteAsync(Ask("still this week"), new RouterContext("weekly") { Model = "m" }));
            Assert.Equal("weekly", ex.Window);
            var report = await Reconcile.AssertReconciledAsync(fx.Database.ConnectionString, restarted.Client, "weekly");
            Assert.Contains(report.Windows, w => w.Window == "weekly" && w.LedgerTokens == before.Tokens && w.TokenDifference == 0);
        }
        finally
        {
            await DurableClusterFixture.StopAsync(restarted);
        }
    }
}
