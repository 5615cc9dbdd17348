using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Grains.Budgets;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>The weekly window end to end in the budget grain: enforced, persisted across reactivation, reset on Monday.</summary>
[Collection(BudgetClusterCollection.Name)]
public sealed class WeeklyBudgetTests(BudgetClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100 };

    [Fact]
    public async Task A_weekly_limit_is_enforced_survives_reactivation_and_resets_on_monday()
    {
        var budget = fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("wk"));
        var served = 0;
        TokenBudgetExceededException? refused = null;
        while (served < 10 && refused is null)
        {
            try
            {
                await Router.CompleteAsync(Ask($"fill the week {served}"), new RouterContext("wk") { Model = "cheap" });
                served++;
            }
            catch (TokenBudgetExceededException ex)
            {
                refused = ex;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(("wk", "weekly", 300L), (refused!.TenantId, refused.Window, refused.Limit));
        Assert.InRange(served, 1, 9);
        var before = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly");
        Assert.Equal(BudgetWindows.Weekly.KeyAt(fx.Clock.GetUtcNow(), TimeZoneInfo.Utc), before.Key);
        Assert.Equal(300, before.TokenLimit);
        Assert.True(before.Tokens > 0 && before.Tokens <= 300, $"settled {before.Tokens} of 300");

        // Deactivation persists the counters at the ledger's end: after it the week is read back from grain state only.
        await fx.Cluster.DeactivateAsync(budget);
        await fx.Cluster.WaitForDeactivationAsync(budget);
        var reactivated = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly");
        Assert.Equal((before.Key, before.Tokens), (reactivated.Key, reactivated.Tokens));
        await Assert.ThrowsAsync<TokenBudgetExceededException>(() => Router.CompleteAsync(Ask("still this week"), new RouterContext("wk") { Model = "cheap" }));

        // Next Monday 00:00 UTC (the tenant's zone): a new week.
        var now = fx.Clock.GetUtcNow();
        var days = ((int)DayOfWeek.Monday - (int)now.UtcDateTime.DayOfWeek + 7) % 7;
        var monday = now.UtcDateTime.Date.AddDays(days == 0 ? 7 : days);
        fx.Clock.Advance(monday - now.UtcDateTime - TimeSpan.FromSeconds(1));
        Assert.Equal(before.Tokens, (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly").Tokens); // Sunday 23:59:59
        fx.Clock.Advance(TimeSpan.FromSeconds(1));
        var after = (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly");
        Assert.Equal(0, after.Tokens);
        Assert.NotEqual(before.Key, after.Key);
        var completion = await Router.CompleteAsync(Ask("a new week"), new RouterContext("wk") { Model = "cheap" });
        Assert.Equal(completion.Usage.TotalTokens, (await budget.GetUsageAsync()).Windows.Single(w => w.Window == "weekly").Tokens);
    }

    [Fact]
    public void Counters_stored_before_windows_were_data_are_read_from_their_old_fields()
    {
        var old = new BudgetCountersState
        {
            LifetimeTokens = 10, LifetimeUsd = 1m, DayKey = "2026-11-22", DayTokens = 4, DayUsd = 0.4m, MonthKey = "2026-11", MonthTokens = 7, MonthUsd = 0.7m,
        };
        var counters = old.ToCounters(fx.Clock.GetUtcNow());
        Assert.Equal(new WindowCount(string.Empty, 10, 1m), counters[BudgetWindows.Lifetime]);
        Assert.Equal(new WindowCount("2026-11-22", 4, 0.4m), counters[BudgetWindows.Daily]);
        Assert.Equal(new WindowCount("2026-11", 7, 0.7m), counters[BudgetWindows.Monthly]);
        Assert.Equal(string.Empty, counters[BudgetWindows.Weekly].Key); // rolls to the current week, from zero

        counters.Windows[BudgetWindows.Weekly.Name] = new WindowCount("2026-W47", 3, 0.3m);
        var stored = BudgetCountersState.From(counters);
        Assert.Equal((10L, "2026-11-22", 4L, "2026-11", 7L), (stored.LifetimeTokens, stored.DayKey, stored.DayTokens, stored.MonthKey, stored.MonthTokens)); // an older silo still reads these
        Assert.Equal(new WindowCount("2026-W47", 3, 0.3m), stored.ToCounters(fx.Clock.GetUtcNow())[BudgetWindows.Weekly]);
    }
}
