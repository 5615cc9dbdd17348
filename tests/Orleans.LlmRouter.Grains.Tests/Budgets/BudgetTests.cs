using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

[Collection(BudgetClusterCollection.Name)]
public sealed class BudgetTests(BudgetClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private static ChatRequest Ask(string text, int? maxTokens = 100) =>
        new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = maxTokens };

    private static RouterContext For(string tenant, string model = "cheap") => new(tenant) { Model = model };

    private async Task<long> LedgerTokens(string tenant)
    {
        var report = await fx.Ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken);
        return report.Totals.TotalTokens;
    }

    [Fact]
    public async Task B1_two_hundred_concurrent_calls_from_three_silos_never_settle_past_the_limit()
    {
        // Calls from the client land on router workers across the three silos; all reserve on one budget grain.
        var tasks = Enumerable.Range(0, 200).Select(async i =>
        {
            try
            {
                await Router.CompleteAsync(Ask($"concurrent call number {i}"), For("b1"));
                return true;
            }
            catch (TokenBudgetExceededException)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(tasks);

        var usage = await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("b1")).GetUsageAsync();
        var daily = usage.Windows.Single(w => w.Window == "daily");
        Assert.True(results.Count(r => r) > 0, "some calls fit the budget");
        Assert.True(results.Count(r => !r) > 0, "the budget was reached");
        Assert.True(daily.Tokens <= 5000, $"settled {daily.Tokens} tokens over a 5000 limit");
        Assert.Equal(0, usage.ReservationsInFlight);
        Assert.Equal(await LedgerTokens("b1"), daily.Tokens); // counters equal the ledger
    }

    [Fact]
    public async Task B4_the_daily_window_resets_at_the_utc_day_boundary()
    {
        var budget = fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("b4"));
        var served = 0;
        while (served < 10)
        {
            try
            {
                await Router.CompleteAsync(Ask($"fill the day {served}"), For("b4"));
                served++;
            }
            catch (TokenBudgetExceededException ex)
            {
                Assert.Equal("daily", ex.Window);
                break;
            }
        }

        Assert.InRange(served, 1, 9);
        var before = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "daily");
        Assert.True(before.Tokens > 0);

        var now = fx.Clock.GetUtcNow();
        fx.Clock.Advance(now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime + TimeSpan.FromSeconds(1));
        var after = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "daily");
        Assert.Equal(0, after.Tokens);
        Assert.NotEqual(before.Key, after.Key);
        var completion = await Router.CompleteAsync(Ask("a new day"), For("b4"));
        Assert.Equal("cheap", completion.Model);
        Assert.Equal(before.Tokens + completion.Usage.TotalTokens, (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "lifetime").Tokens);
    }

    [Fact]
    public async Task B5_exceeding_raises_the_typed_error_with_window_usage_limit_and_reservation()
    {
        var first = await Router.CompleteAsync(Ask("first call fits"), For("b5"));
        var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => Router.CompleteAsync(Ask("second call does not"), For("b5")));
        Assert.Equal("b5", ex.TenantId);
        Assert.Equal("lifetime", ex.Window);
        Assert.Equal(130, ex.Limit);
        Assert.Equal(first.Usage.TotalTokens, ex.Used);
        Assert.True(ex.Requested > 100, "the reservation includes the max output tokens");
        Assert.Contains("lifetime", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_the_tenant_cannot_afford_falls_back_to_a_cheaper_one()
    {
        // pricey would reserve ~0.011 USD against a 0.005 USD daily budget; cheap fits.
        var completion = await Router.CompleteAsync(Ask("route me within budget"), new RouterContext("usd") { Action = "chat" });
        Assert.Equal("cheap", completion.Model);
        Assert.DoesNotContain(completion.Attempts, a => a.Model == "pricey");
    }

    [Fact]
    public async Task A_run_budget_limits_one_run_but_not_another()
    {
        var run = new RouterContext("run") { Model = "cheap", RunId = "run-a" };
        await Router.CompleteAsync(Ask("run a one"), run);
        await Router.CompleteAsync(Ask("run a two"), run with { RequestId = Guid.NewGuid().ToString("N") });
        var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => Router.CompleteAsync(Ask("run a three"), run with { RequestId = Guid.NewGuid().ToString("N") }));
        Assert.Equal("run", ex.Window);
        var other = await Router.CompleteAsync(Ask("run b one"), new RouterContext("run") { Model = "cheap", RunId = "run-b" });
        Assert.Equal("cheap", other.Model);
    }

    [Fact]
    public async Task A_request_id_is_billed_once()
    {
        var context = new RouterContext("idem") { Model = "cheap", RequestId = "idem-" + Guid.NewGuid().ToString("N") };
        var first = await Router.CompleteAsync(Ask("same request twice"), context);
        await Router.CompleteAsync(Ask("same request twice"), context);
        var usage = await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("idem")).GetUsageAsync();
        Assert.Equal(first.Usage.TotalTokens, usage.Windows.Single(w => w.Window == "lifetime").Tokens);
        Assert.Equal(1, (await fx.Ledger.ReportAsync(new UsageQuery("idem"), TestContext.Current.CancellationToken)).Totals.Calls);
    }

    [Fact]
    public async Task Counters_are_rebuilt_from_the_ledger_after_the_grain_is_lost()
    {
        var budget = fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("ledger"));
        for (var i = 0; i < 5; i++)
        {
            await Router.CompleteAsync(Ask($"ledger call {i}"), For("ledger"));
        }

        // Rows the grain never saw (as after a crash between the ledger write and the counters' persistence).
        var position = (await budget.GetUsageAsync()).LedgerPosition;
        await fx.Ledger.AppendAsync(new LedgerRecord
        {
            RequestId = "orphan-" + Guid.NewGuid().ToString("N"), TenantId = "ledger", TenantSeq = position + 1000,
            Provider = "sim", Model = "cheap", PromptTokens = 7, CompletionTokens = 5, CostUsd = 0.000012m, Success = true,
            CompletedAt = fx.Clock.GetUtcNow(),
        }, TestContext.Current.CancellationToken);

        await fx.Cluster.DeactivateAsync(budget);
        await fx.Cluster.WaitForDeactivationAsync(budget);
        var usage = await budget.GetUsageAsync();
        Assert.Equal(await LedgerTokens("ledger"), usage.Windows.Single(w => w.Window == "lifetime").Tokens);
        Assert.Equal(position + 1000, usage.LedgerPosition);
    }

    [Fact]
    public async Task B3_an_abandoned_stream_is_billed_for_what_was_generated()
    {
        var context = new RouterContext("stream") { Model = "slowm" };
        await foreach (var item in Router.StreamAsync(Ask("a long enough message to produce several streamed chunks of text"), context, TestContext.Current.CancellationToken))
        {
            if (item.TextDelta is not null)
            {
                break; // the caller walks away after the first chunk; the next one waits on the fake clock
            }
        }

        var budget = fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("stream"));
        TenantUsage usage = await budget.GetUsageAsync();
        for (var i = 0; i < 100 && usage.Windows.Single(w => w.Window == "lifetime").Tokens == 0; i++)
        {
            fx.Clock.Advance(TimeSpan.FromMilliseconds(100)); // lets the pending upstream chunk resolve so disposal can run
            await Task.Delay(20, TestContext.Current.CancellationToken);
            usage = await budget.GetUsageAsync();
        }

        var rows = new List<LedgerRecord>();
        await foreach (var r in fx.Ledger.QueryAsync(new UsageQuery("stream"), TestContext.Current.CancellationToken))
        {
            rows.Add(r);
        }

        var row = Assert.Single(rows);
        Assert.False(row.Success);
        Assert.Equal("cancelled", row.ErrorClass);
        Assert.True(row.CompletionTokens > 0, "the generated part is billed");
        Assert.Equal(row.TotalTokens, usage.Windows.Single(w => w.Window == "lifetime").Tokens);
        Assert.Equal(0, usage.ReservationsInFlight);
    }

    [Fact]
    public async Task A_tenants_rpm_is_enforced_cluster_wide_and_resets_with_the_minute()
    {
        var now = fx.Clock.GetUtcNow();
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60))); // start of a minute
        for (var i = 0; i < 3; i++)
        {
            await Router.CompleteAsync(Ask($"rated call {i}"), For("rated"));
        }

        var ex = await Assert.ThrowsAsync<TenantRateLimitedException>(() => Router.CompleteAsync(Ask("one too many"), For("rated")));
        Assert.Equal("rpm", ex.Limit);
        Assert.Equal("rated", ex.TenantId);
        Assert.Equal(60, ex.RetryAfterSeconds);
        var usage = await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("rated")).GetUsageAsync();
        Assert.Equal(0, usage.ReservationsInFlight); // the refused call reserved nothing

        fx.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("cheap", (await Router.CompleteAsync(Ask("next minute"), For("rated"))).Model);
    }
}
