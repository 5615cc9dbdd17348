using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Tests.Deployments;

/// <summary>
/// Models served by several deployments on a two-silo cluster against the mock upstream: shares by weight, traffic
/// off a slow deployment, the fast one preferred while the others are still probed, an open deployment circuit and a
/// 429 pause that move its share to the others without a model fallback or a failed call.
/// </summary>
[Collection(DeploymentClusterCollection.Name)]
public sealed class DeploymentRoutingTests(DeploymentClusterFixture fx)
{
    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 20 };

    private static RouterContext To(string model) => new("deploy") { Model = model };

    private Task<ChatCompletion> CallAsync(int silo, string model, string text = "hello") =>
        fx.Router(silo).CompleteAsync(Ask(text), To(model));

    /// <summary>Runs <paramref name="calls"/> calls over both silos, <paramref name="parallel"/> at a time, and counts the deployments that answered.</summary>
    private async Task<Dictionary<string, int>> ShareAsync(string model, int calls, int parallel = 8, bool singleAttempt = false)
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var next = -1;
        var workers = Enumerable.Range(0, parallel).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < calls)
            {
                var c = await CallAsync(n, model, $"call {n}");
                Assert.Equal(model, c.Model);
                if (singleAttempt)
                {
                    Assert.Single(c.Attempts); // what cannot take the call is skipped when chosen, not tried and refused
                }

                counts.AddOrUpdate(c.Deployment!, 1, (_, v) => v + 1);
            }
        });
        await Task.WhenAll(workers);
        return new(counts, StringComparer.Ordinal);
    }

    [Fact]
    public async Task Weights_1_1_2_give_shares_within_5_points_over_400_calls()
    {
        var counts = await ShareAsync("weighted", 400);

        Assert.Equal(400, counts.Values.Sum());
        Assert.InRange(counts.GetValueOrDefault("da") / 4.0, 20, 30);
        Assert.InRange(counts.GetValueOrDefault("db") / 4.0, 20, 30);
        Assert.InRange(counts.GetValueOrDefault("dc") / 4.0, 45, 55);
    }

    [Fact]
    public async Task A_call_names_its_deployment_in_the_result_its_attempts_and_its_ledger_row()
    {
        var context = To("weighted");
        var c = await fx.Router(0).CompleteAsync(Ask("ledgered"), context);

        Assert.Equal(c.Provider, c.Deployment);
        var attempt = Assert.Single(c.Attempts);
        Assert.Equal(c.Deployment, attempt.Deployment);
        Assert.Equal("w-" + c.Provider[1..], c.ProviderModel);

        var rows = new List<Ledger.LedgerRecord>();
        foreach (var silo in fx.Cluster.Silos)
        {
            await foreach (var row in silo.ServiceProvider.GetRequiredService<Ledger.ILedger>().QueryAsync(new Ledger.UsageQuery("deploy"), TestContext.Current.CancellationToken))
            {
                if (row.RequestId == context.RequestId)
                {
                    rows.Add(row);
                }
            }
        }

        var billed = Assert.Single(rows);
        Assert.Equal((c.Provider, c.Deployment, "weighted"), (billed.Provider, billed.Deployment, billed.Model));
    }

    [Fact]
    public async Task Least_busy_moves_traffic_off_a_slow_deployment()
    {
        fx.Mock.ModelLatency["busy-b"] = TimeSpan.FromSeconds(1.5);
        try
        {
            var counts = await ShareAsync("busy", 60, parallel: 4);

            // By weight alone it would get half. Busy with slow calls, it gets only what ties hand it.
            Assert.True(counts.GetValueOrDefault("db") <= 12, $"the slow deployment got {counts.GetValueOrDefault("db")} of 60");
            Assert.True(counts.GetValueOrDefault("da") >= 48);
        }
        finally
        {
            fx.Mock.ModelLatency.TryRemove("busy-b", out _);
        }
    }

    [Fact]
    public async Task Calls_in_flight_on_one_silo_count_on_the_others()
    {
        fx.Mock.ModelLatency["busy-a"] = TimeSpan.FromSeconds(8);
        fx.Mock.ModelLatency["busy-b"] = TimeSpan.FromSeconds(8);
        var view = fx.Catalog.DeploymentsOf(fx.Catalog.Models["busy"])[1];
        var db = fx.Catalog.Providers["db"];
        var slow = new List<Task<ChatCompletion>>();
        int Received() => fx.Mock.ModelRequests.GetValueOrDefault("busy-a") + fx.Mock.ModelRequests.GetValueOrDefault("busy-b");
        try
        {
            // Slow calls held in flight on silo 0 only, sent one after the other so each choice sees the calls before
            // it in flight (sent at once, they could all choose before any is counted); least_busy spreads them over
            // both deployments.
            var before = Received();
            for (var i = 0; i < 6; i++)
            {
                slow.Add(CallAsync(0, "busy", $"slow {i}"));
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (Received() - before < i + 1)
                {
                    Assert.True(DateTime.UtcNow < deadline, $"slow call {i} did not reach the mock");
                    await Task.Delay(10, TestContext.Current.CancellationToken);
                }
            }

            Assert.True(fx.Gates[0].Load(db, view, 0).InFlight >= 2);
            Assert.Equal(0, fx.Gates[1].Load(db, view, 0).InFlight);
            await fx.Gates[0].ReportLoadAsync();
            await fx.Gates[1].RefreshAsync("busy@db");

            Assert.True(fx.Gates[1].Load(db, view, 0).InFlight >= 2);
        }
        finally
        {
            // Whatever failed above, the slow calls end before the next test balances this model.
            await Task.WhenAll(slow.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            fx.Mock.ModelLatency.TryRemove("busy-a", out _);
            fx.Mock.ModelLatency.TryRemove("busy-b", out _);
        }
    }

    [Fact]
    public async Task Load_reports_sent_at_once_leave_the_last_count_at_the_grain()
    {
        // Reports from the timer and from callers overlap; whatever order they are sent in, once the calls are over and
        // the silo has reported, no silo sees calls in flight that ended (a stale count would steer least_busy for good).
        var view = fx.Catalog.DeploymentsOf(fx.Catalog.Models["busy"])[0];
        var da = fx.Catalog.Providers["da"];
        fx.Gates[0].Load(da, view, 0); // balanced here: its load is reported
        for (var round = 0; round < 20; round++)
        {
            var permits = new List<global::Orleans.LlmRouter.Grains.Providers.CallPermit>();
            for (var i = 0; i < 3; i++)
            {
                var (permit, _) = await fx.Gates[0].AdmitAsync(da, view, 10);
                permits.Add(permit!);
            }

            var reports = new List<Task>();
            foreach (var permit in permits)
            {
                reports.Add(fx.Gates[0].ReportLoadAsync());
                await fx.Gates[0].Complete(permit, new ProviderOutcome(true, null, false, 1, false, 0, null));
                reports.Add(fx.Gates[0].ReportLoadAsync());
            }

            await Task.WhenAll(reports);
        }

        await fx.Gates[0].ReportLoadAsync();
        await fx.Gates[1].RefreshAsync("busy@da");
        Assert.Equal(0, fx.Gates[1].Load(da, view, 0).InFlight);
        await fx.Gates[0].RefreshAsync("busy@da");
        Assert.Equal(0, fx.Gates[0].Load(da, view, 0).InFlight);
    }

    [Fact]
    public async Task Lowest_latency_prefers_the_fast_deployment_after_warm_up_and_still_probes_the_other()
    {
        fx.Mock.ModelLatency["lat-a"] = TimeSpan.FromMilliseconds(80);
        try
        {
            await ShareAsync("fast", 20, parallel: 2); // warm-up: both measured
            foreach (var gate in fx.Gates)
            {
                await gate.FlushAllAsync(); // the latencies reach the deployments' grains, the answers bring back p50
            }

            var counts = await ShareAsync("fast", 200, parallel: 4);

            Assert.True(counts.GetValueOrDefault("db") >= 160, $"the fast deployment got {counts.GetValueOrDefault("db")} of 200");
            Assert.InRange(counts.GetValueOrDefault("da"), 3, 40); // the exploration share (10 %) keeps measuring the slow one
        }
        finally
        {
            fx.Mock.ModelLatency.TryRemove("lat-a", out _);
        }
    }

    [Fact]
    public async Task Cheapest_calls_the_deployment_with_the_lower_price()
    {
        var counts = await ShareAsync("cheap", 20, parallel: 2);

        Assert.Equal(20, counts.GetValueOrDefault("db"));
    }

    [Fact]
    public async Task One_open_deployment_circuit_sends_its_share_to_the_others_with_no_model_fallback_and_no_failed_call()
    {
        fx.Mock.ModelScenarios["brk-b"] = "server";
        try
        {
            var failedOnB = 0;
            for (var i = 0; i < 60; i++)
            {
                var c = await fx.Router(i).CompleteAsync(Ask($"sturdy {i}"), new RouterContext("deploy") { Action = "sturdy-chain" });
                Assert.Equal("sturdy", c.Model); // never the chain's next model
                Assert.All(c.Attempts, a => Assert.Equal("sturdy", a.Model));
                failedOnB += c.Attempts.Count(a => a.Deployment == "db" && !a.Success);
                Assert.NotEqual("db", c.Deployment);
            }

            Assert.InRange(failedOnB, 3, 6); // the breaker opened after its minimum calls (one in flight per silo may land after)
            var reached = fx.Mock.ModelRequests.GetValueOrDefault("brk-b");
            var after = await ShareAsync("sturdy", 60, parallel: 4, singleAttempt: true);

            Assert.Equal(reached, fx.Mock.ModelRequests.GetValueOrDefault("brk-b")); // open: not called at all
            Assert.Equal(60, after.GetValueOrDefault("da") + after.GetValueOrDefault("dc"));
            Assert.True(after.GetValueOrDefault("da") > 10 && after.GetValueOrDefault("dc") > 10);
            Assert.Equal(ProviderCircuitState.Open, (await fx.Cluster.Client.GetProviderScope("sturdy@db").GetHealthAsync()).State);
            Assert.Equal(ProviderCircuitState.Closed, (await fx.Cluster.Client.GetProviderScope("db").GetHealthAsync()).State); // the provider's own circuit stays closed
        }
        finally
        {
            fx.Mock.ModelScenarios.TryRemove("brk-b", out _);
        }
    }

    [Fact]
    public async Task A_429_with_Retry_After_pauses_only_that_deployment_cluster_wide()
    {
        fx.Mock.ModelScenarios["rl-b"] = "rate_limit"; // 429 with retry-after: 2
        try
        {
            ChatCompletion? limited = null;
            for (var i = 0; i < 40 && limited is null; i++)
            {
                var c = await CallAsync(i, "quota", $"quota {i}");
                Assert.Equal("da", c.Deployment); // the 429 fell over to the other deployment: no failed call
                if (c.Attempts.Any(a => a.Deployment == "db" && a.ErrorClass == ProviderErrorClass.RateLimited))
                {
                    limited = c;
                }
            }

            Assert.NotNull(limited);

            // The pause reaches the other silo by the grain's push (one-way): once both silos hold it, no call goes there.
            var paused = fx.Catalog.DeploymentsOf(fx.Catalog.Models["quota"]).Single(d => d.Deployment!.Id == "db");
            var seen = DateTime.UtcNow.AddSeconds(10);
            while (!fx.Gates.All(g => g.Unavailable(fx.Catalog.ProviderOf(paused), paused) is not null))
            {
                Assert.True(DateTime.UtcNow < seen, "the silos did not learn of the deployment's pause");
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            var reached = fx.Mock.ModelRequests.GetValueOrDefault("rl-b");
            for (var i = 0; i < 40; i++)
            {
                var c = await CallAsync(i, "quota", $"paused {i}");
                Assert.Equal("da", c.Deployment);
                Assert.Single(c.Attempts); // skipped on both silos from their snapshots, not even refused by the gate
            }

            Assert.Equal(reached, fx.Mock.ModelRequests.GetValueOrDefault("rl-b")); // paused on both silos
            var plain = fx.Mock.ModelRequests.GetValueOrDefault("plain-b");
            var other = await CallAsync(1, "plain-b");
            Assert.Equal("db", other.Provider); // the provider itself is not paused
            Assert.Equal(plain + 1, fx.Mock.ModelRequests.GetValueOrDefault("plain-b"));

            // After the Retry-After, the deployment takes calls again.
            fx.Mock.ModelScenarios.TryRemove("rl-b", out _);
            fx.Clock.Advance(TimeSpan.FromSeconds(3));
            var resumed = await ShareAsync("quota", 40, parallel: 2);
            Assert.True(resumed.GetValueOrDefault("db") > 0);
        }
        finally
        {
            fx.Mock.ModelScenarios.TryRemove("rl-b", out _);
        }
    }

    [Fact]
    public async Task Usage_based_prefers_the_deployment_with_more_of_its_minute_left()
    {
        // Spend most of hr-a's minute through silo 0 only, then let both silos learn the counts.
        var hra = fx.Catalog.DeploymentsOf(fx.Catalog.Models["headroom"])[0];
        for (var i = 0; i < 12; i++)
        {
            var (permit, _) = await fx.Gates[0].AdmitAsync(fx.Catalog.Providers["da"], hra, 10);
            Assert.NotNull(permit);
            await fx.Gates[0].Complete(permit!, new ProviderOutcome(true, null, false, 1, false, 0, null));
        }

        foreach (var gate in fx.Gates)
        {
            await gate.RefreshAsync("headroom@da");
            await gate.RefreshAsync("headroom@db");
        }

        // hr-b's leases (2 requests each, per silo) stay below hr-a's 12 during these 8 calls.
        var counts = await ShareAsync("headroom", 8, parallel: 1);

        Assert.Equal(8, counts.GetValueOrDefault("db"));
    }

    [Fact]
    public async Task A_deployment_whose_minute_is_spent_is_skipped_without_an_attempt()
    {
        // Spend sp-a's two requests of this minute from silo 0; both silos learn it from the deployment's grain.
        var spa = fx.Catalog.DeploymentsOf(fx.Catalog.Models["spent"])[0];
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60))); // start of a minute
        for (var i = 0; i < 2; i++)
        {
            var (permit, _) = await fx.Gates[0].AdmitAsync(fx.Catalog.Providers["da"], spa, 10);
            Assert.NotNull(permit);
            await fx.Gates[0].Complete(permit!, new ProviderOutcome(true, null, false, 1, false, 0, null));
        }

        // Both silos' snapshots show the spent minute before the calls (a push of an older snapshot, sent when the first
        // request was granted, may land after a refresh; the snapshot's staleness is bounded, not zero).
        var seen = DateTime.UtcNow.AddSeconds(10);
        while (!fx.Gates.All(g => g.LimitsSpent(fx.Catalog.Providers["da"], spa)))
        {
            Assert.True(DateTime.UtcNow < seen, "the silos did not learn that the deployment's minute is spent");
            foreach (var gate in fx.Gates)
            {
                await gate.RefreshAsync("spent@da");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        for (var i = 0; i < 12; i++)
        {
            var c = await CallAsync(i, "spent", $"spent {i}");
            Assert.Equal("db", c.Deployment);
            Assert.Single(c.Attempts); // skipped when chosen, not tried and refused
        }
    }

    [Fact]
    public async Task A_model_whose_every_deployment_has_spent_its_minute_is_a_capacity_refusal_with_retry_after_not_a_failed_upstream()
    {
        // Spend the one request per minute of both deployments of 'capped'; both silos learn it from the deployments' grains.
        var deployments = fx.Catalog.DeploymentsOf(fx.Catalog.Models["capped"]);
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60))); // start of a minute
        foreach (var deployment in deployments)
        {
            var (permit, _) = await fx.Gates[0].AdmitAsync(fx.Catalog.ProviderOf(deployment), deployment, 10);
            Assert.NotNull(permit);
            await fx.Gates[0].Complete(permit!, new ProviderOutcome(true, null, false, 1, false, 0, null));
        }

        var seen = DateTime.UtcNow.AddSeconds(10);
        while (!deployments.All(d => fx.Gates.All(g => g.LimitsSpent(fx.Catalog.ProviderOf(d), d))))
        {
            Assert.True(DateTime.UtcNow < seen, "the silos did not learn that the deployments' minute is spent");
            foreach (var gate in fx.Gates)
            {
                foreach (var d in deployments)
                {
                    await gate.RefreshAsync($"capped@{d.Deployment!.Id}");
                }
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        for (var silo = 0; silo < 2; silo++)
        {
            var refused = await Assert.ThrowsAsync<AllModelsFailedException>(() => CallAsync(silo, "capped", $"capped {silo}"));
            Assert.Empty(refused.Attempts); // skipped when chosen, nothing sent upstream
            Assert.Equal(2, refused.Skipped.Count(s => s.ErrorClass == ProviderErrorClass.RequestsPerMinuteLimit));
            Assert.NotNull(refused.RetryAfterSeconds); // retryable capacity: the surfaces answer 503/529 with Retry-After
            Assert.InRange(refused.RetryAfterSeconds!.Value, 1, 60);
        }
    }
}
