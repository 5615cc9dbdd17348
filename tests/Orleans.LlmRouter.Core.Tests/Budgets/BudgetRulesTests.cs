using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Tests.Budgets;

public sealed class BudgetRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 23, 30, 0, TimeSpan.Zero);

    [Fact]
    public void A_reservation_fits_only_when_used_plus_in_flight_plus_it_stays_within_every_limit()
    {
        var limits = new TenantBudgets(DailyTokens: 1000, MonthlyUsd: 1m);
        var used = new BudgetCounters();
        used.Roll(Now, TimeZoneInfo.Utc);
        used.Add(600, 0.5m, null, Now, TimeZoneInfo.Utc);
        var inFlight = new InFlight();
        inFlight.Add("a", 300, 0.1m, null);

        Assert.Null(BudgetRules.Check(limits, used, inFlight, 100, 0.1m, null));
        var v = BudgetRules.Check(limits, used, inFlight, 101, 0.1m, null);
        Assert.NotNull(v);
        Assert.Equal(BudgetWindow.Daily, v!.Window);
        Assert.Equal(BudgetUnit.Tokens, v.Unit);
        Assert.Equal(600, v.Used);
        Assert.Equal(300, v.Reserved);
        Assert.Equal(1000, v.Limit);
        Assert.Equal(101, v.Requested);

        var usd = BudgetRules.Check(limits, used, inFlight, 1, 0.41m, null);
        Assert.Equal((BudgetWindow.Monthly, BudgetUnit.Usd), (usd!.Window, usd.Unit));
    }

    [Fact]
    public void Releasing_a_reservation_frees_its_share()
    {
        var limits = new TenantBudgets(LifetimeTokens: 100);
        var used = new BudgetCounters();
        var inFlight = new InFlight();
        inFlight.Add("a", 100, 0, "run");
        Assert.NotNull(BudgetRules.Check(limits, used, inFlight, 1, 0, null));
        Assert.True(inFlight.Remove("a"));
        Assert.False(inFlight.Remove("a"));
        Assert.Null(BudgetRules.Check(limits, used, inFlight, 100, 0, null));
        Assert.Equal(0, inFlight.RunTokens("run"));
    }

    [Fact]
    public void Run_budgets_count_per_run()
    {
        var limits = new TenantBudgets(RunTokens: 100);
        var used = new BudgetCounters();
        used.Add(90, 0, "r1", Now, TimeZoneInfo.Utc);
        Assert.Equal(BudgetWindow.Run, BudgetRules.Check(limits, used, new InFlight(), 20, 0, "r1")!.Window);
        Assert.Null(BudgetRules.Check(limits, used, new InFlight(), 20, 0, "r2"));
        Assert.Null(BudgetRules.Check(limits, used, new InFlight(), 20, 0, null));
    }

    [Fact]
    public void Daily_and_monthly_windows_roll_by_themselves_in_the_tenant_time_zone()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(500, 1m, null, Now, TimeZoneInfo.Utc);
        Assert.Equal("2026-11-22", counters.DayKey);

        counters.Roll(Now.AddMinutes(31), TimeZoneInfo.Utc); // past midnight UTC
        Assert.Equal("2026-11-23", counters.DayKey);
        Assert.Equal(0, counters.DayTokens);
        Assert.Equal(500, counters.MonthTokens);
        Assert.Equal(500, counters.LifetimeTokens);

        counters.Roll(new DateTimeOffset(2026, 12, 1, 0, 0, 1, TimeSpan.Zero), TimeZoneInfo.Utc);
        Assert.Equal(0, counters.MonthTokens);
        Assert.Equal(500, counters.LifetimeTokens);

        var tokyo = BudgetCalendar.Zone("Asia/Tokyo");
        Assert.Equal("2026-11-23", BudgetCalendar.KeysAt(Now, tokyo).Day); // 08:30 next day in Tokyo
    }

    [Fact]
    public void Usage_from_another_day_is_not_added_to_the_current_day()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(10, 0, null, Now.AddDays(-1), TimeZoneInfo.Utc);
        Assert.Equal(0, counters.DayTokens);
        Assert.Equal(10, counters.MonthTokens);
        Assert.Equal(10, counters.LifetimeTokens);
    }

    [Fact]
    public void Soft_alerts_fire_once_per_window()
    {
        var limits = new TenantBudgets(DailyUsd: 10m);
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(0, 7.99m, null, Now, TimeZoneInfo.Utc);
        Assert.Empty(BudgetRules.CrossedAlerts(limits, counters, 0.8m));
        counters.Add(0, 0.01m, null, Now, TimeZoneInfo.Utc);
        var alert = Assert.Single(BudgetRules.CrossedAlerts(limits, counters, 0.8m));
        counters.AlertsFired.Add(alert.Key);
        Assert.Empty(BudgetRules.CrossedAlerts(limits, counters, 0.8m));
        counters.Roll(Now.AddHours(1), TimeZoneInfo.Utc);
        counters.Add(0, 9m, null, Now.AddHours(1), TimeZoneInfo.Utc);
        Assert.Single(BudgetRules.CrossedAlerts(limits, counters, 0.8m)); // a new day, a new alert
    }

    [Theory]
    [InlineData("lifetime", "tokens")]
    [InlineData("daily", "tokens")]
    [InlineData("monthly", "tokens")]
    [InlineData("lifetime", "usd")]
    [InlineData("daily", "usd")]
    [InlineData("monthly", "usd")]
    public void Each_window_and_unit_alerts_with_its_own_key_usage_and_limit(string window, string unit)
    {
        var tokens = unit == "tokens";
        var limits = window switch
        {
            "lifetime" => tokens ? new TenantBudgets(LifetimeTokens: 1000) : new TenantBudgets(LifetimeUsd: 10m),
            "daily" => tokens ? new TenantBudgets(DailyTokens: 1000) : new TenantBudgets(DailyUsd: 10m),
            _ => tokens ? new TenantBudgets(MonthlyTokens: 1000) : new TenantBudgets(MonthlyUsd: 10m),
        };
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(900, 9m, null, Now, TimeZoneInfo.Utc);

        var alert = Assert.Single(BudgetRules.CrossedAlerts(limits, counters, 0.8m));
        Assert.Equal(window, alert.Window.ToString().ToLowerInvariant());
        Assert.Equal(unit, alert.Unit.ToString().ToLowerInvariant());
        Assert.Equal(tokens ? 900m : 9m, alert.Used);
        Assert.Equal(tokens ? 1000m : 10m, alert.Limit);
        var expectedKey = window switch
        {
            "lifetime" => $"lifetime:{unit}",
            "daily" => $"day:{counters.DayKey}:{unit}",
            _ => $"month:{counters.MonthKey}:{unit}",
        };
        Assert.Equal(expectedKey, alert.Key);
        Assert.Empty(BudgetRules.CrossedAlerts(limits, counters, 0.95m));
    }
}
