using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Tests.Budgets;

public sealed class BudgetRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 23, 30, 0, TimeSpan.Zero);

    [Fact]
    public void A_reservation_fits_only_when_used_plus_in_flight_plus_it_stays_within_every_limit()
    {
        var limits = BudgetLimits.Of(("daily", BudgetUnit.Tokens, 1000), ("monthly", BudgetUnit.Usd, 1m));
        var used = new BudgetCounters();
        used.Roll(Now, TimeZoneInfo.Utc);
        used.Add(600, 0.5m, null, Now, TimeZoneInfo.Utc);
        var inFlight = new InFlight();
        inFlight.Add("a", 300, 0.1m, null);

        Assert.Null(BudgetRules.Check(limits, used, inFlight, 100, 0.1m, null));
        var v = BudgetRules.Check(limits, used, inFlight, 101, 0.1m, null);
        Assert.NotNull(v);
        Assert.Equal("daily", v!.Window);
        Assert.Equal(BudgetUnit.Tokens, v.Unit);
        Assert.Equal(600, v.Used);
        Assert.Equal(300, v.Reserved);
        Assert.Equal(1000, v.Limit);
        Assert.Equal(101, v.Requested);

        var usd = BudgetRules.Check(limits, used, inFlight, 1, 0.41m, null);
        Assert.Equal(("monthly", BudgetUnit.Usd), (usd!.Window, usd.Unit));
    }

    [Fact]
    public void Releasing_a_reservation_frees_its_share()
    {
        var limits = BudgetLimits.Of(("lifetime", BudgetUnit.Tokens, 100));
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
        var limits = BudgetLimits.Of(("run", BudgetUnit.Tokens, 100));
        var used = new BudgetCounters();
        used.Add(90, 0, "r1", Now, TimeZoneInfo.Utc);
        Assert.Equal("run", BudgetRules.Check(limits, used, new InFlight(), 20, 0, "r1")!.Window);
        Assert.Null(BudgetRules.Check(limits, used, new InFlight(), 20, 0, "r2"));
        Assert.Null(BudgetRules.Check(limits, used, new InFlight(), 20, 0, null));
    }

    [Fact]
    public void Daily_and_monthly_windows_roll_by_themselves_in_the_tenant_time_zone()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(500, 1m, null, Now, TimeZoneInfo.Utc);
        Assert.Equal("2026-11-22", counters[BudgetWindows.Daily].Key);

        counters.Roll(Now.AddMinutes(31), TimeZoneInfo.Utc); // past midnight UTC
        Assert.Equal("2026-11-23", counters[BudgetWindows.Daily].Key);
        Assert.Equal(0, counters[BudgetWindows.Daily].Tokens);
        Assert.Equal(500, counters[BudgetWindows.Monthly].Tokens);
        Assert.Equal(500, counters[BudgetWindows.Lifetime].Tokens);

        counters.Roll(new DateTimeOffset(2026, 12, 1, 0, 0, 1, TimeSpan.Zero), TimeZoneInfo.Utc);
        Assert.Equal(0, counters[BudgetWindows.Monthly].Tokens);
        Assert.Equal(500, counters[BudgetWindows.Lifetime].Tokens);

        var tokyo = BudgetCalendar.Zone("Asia/Tokyo");
        Assert.Equal("2026-11-23", BudgetWindows.Daily.KeyAt(Now, tokyo)); // 08:30 next day in Tokyo
    }

    [Fact]
    public void Usage_from_another_day_is_not_added_to_the_current_day()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(10, 0, null, Now.AddDays(-1), TimeZoneInfo.Utc);
        Assert.Equal(0, counters[BudgetWindows.Daily].Tokens);
        Assert.Equal(10, counters[BudgetWindows.Monthly].Tokens);
        Assert.Equal(10, counters[BudgetWindows.Lifetime].Tokens);
    }

    [Fact]
    public void Soft_alerts_fire_once_per_window()
    {
        var limits = BudgetLimits.Of(("daily", BudgetUnit.Usd, 10m));
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
    [InlineData("weekly", "tokens")]
    [InlineData("monthly", "tokens")]
    [InlineData("lifetime", "usd")]
    [InlineData("daily", "usd")]
    [InlineData("weekly", "usd")]
    [InlineData("monthly", "usd")]
    public void Each_window_and_unit_alerts_with_its_own_key_usage_and_limit(string window, string unit)
    {
        var tokens = unit == "tokens";
        var limits = BudgetLimits.Of((window, tokens ? BudgetUnit.Tokens : BudgetUnit.Usd, tokens ? 1000m : 10m));
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(900, 9m, null, Now, TimeZoneInfo.Utc);

        var alert = Assert.Single(BudgetRules.CrossedAlerts(limits, counters, 0.8m));
        Assert.Equal(window, alert.Window.Name);
        Assert.Equal(unit, alert.Unit.ToString().ToLowerInvariant());
        Assert.Equal(tokens ? 900m : 9m, alert.Used);
        Assert.Equal(tokens ? 1000m : 10m, alert.Limit);
        var expectedKey = window switch
        {
            "lifetime" => $"lifetime:{unit}",
            "daily" => $"day:{counters[BudgetWindows.Daily].Key}:{unit}",
            "weekly" => $"week:{counters[BudgetWindows.Weekly].Key}:{unit}",
            _ => $"month:{counters[BudgetWindows.Monthly].Key}:{unit}",
        };
        Assert.Equal(expectedKey, alert.Key);
        Assert.Empty(BudgetRules.CrossedAlerts(limits, counters, 0.95m));
    }

    [Theory]
    [InlineData("Tokens")]
    [InlineData("Usd")]
    public void A_weekly_limit_is_enforced(string unitName)
    {
        var unit = Enum.Parse<BudgetUnit>(unitName);
        var limits = BudgetLimits.Of(("weekly", unit, 1000m));
        var used = new BudgetCounters();
        used.Roll(Now, TimeZoneInfo.Utc);
        used.Add(600, 600m, null, Now.AddDays(-3), TimeZoneInfo.Utc); // Thursday of the same ISO week
        var inFlight = new InFlight();
        inFlight.Add("a", 300, 300m, null);

        Assert.Null(BudgetRules.Check(limits, used, inFlight, 100, 100m, null));
        var v = BudgetRules.Check(limits, used, inFlight, 101, 101m, null);
        Assert.NotNull(v);
        Assert.Equal(("weekly", unit, 600m, 300m, 1000m, 101m), (v!.Window, v.Unit, v.Used, v.Reserved, v.Limit, v.Requested));
    }

    [Fact]
    public void The_weekly_window_is_the_iso_week_from_monday_midnight_in_the_tenant_time_zone()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc); // Sunday 2026-11-22 23:30 UTC
        counters.Add(500, 1m, null, Now, TimeZoneInfo.Utc);
        Assert.Equal(new WindowCount("2026-W47", 500, 1m), counters[BudgetWindows.Weekly]);

        counters.Roll(Now.AddMinutes(29), TimeZoneInfo.Utc); // 23:59, still Sunday
        Assert.Equal(500, counters[BudgetWindows.Weekly].Tokens);
        counters.Roll(Now.AddMinutes(30), TimeZoneInfo.Utc); // Monday 00:00
        Assert.Equal(new WindowCount("2026-W48", 0, 0m), counters[BudgetWindows.Weekly]);
        Assert.Equal(500, counters[BudgetWindows.Monthly].Tokens);
        Assert.Equal(500, counters[BudgetWindows.Lifetime].Tokens);

        // In Tokyo that Sunday 23:30 UTC is already Monday 08:30: the week has turned.
        var tokyo = BudgetCalendar.Zone("Asia/Tokyo");
        Assert.Equal("2026-W48", BudgetWindows.Weekly.KeyAt(Now, tokyo));
        Assert.Equal("2026-W47", BudgetWindows.Weekly.KeyAt(Now.AddHours(-9).AddMinutes(-31), tokyo));

        // ISO weeks cross the year: 2027-01-01 (a Friday) is in 2026-W53; 2027-01-04 starts 2027-W01.
        Assert.Equal("2026-W53", BudgetWindows.Weekly.KeyAt(new DateTimeOffset(2027, 1, 1, 12, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc));
        Assert.Equal("2027-W01", BudgetWindows.Weekly.KeyAt(new DateTimeOffset(2027, 1, 4, 0, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc));
    }

    [Fact]
    public void A_weekly_window_spans_monday_to_monday_in_the_tenant_time_zone()
    {
        var tokyo = BudgetCalendar.Zone("Asia/Tokyo");
        var (from, to) = BudgetWindows.Weekly.Span("2026-W48", tokyo)!.Value;
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.FromHours(9)), from);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.FromHours(9)), to);
        Assert.Equal(BudgetWindows.Weekly.KeyAt(from, tokyo), BudgetWindows.Weekly.KeyAt(to.AddTicks(-1), tokyo));
        Assert.NotEqual(BudgetWindows.Weekly.KeyAt(from, tokyo), BudgetWindows.Weekly.KeyAt(to, tokyo));
        Assert.Null(BudgetWindows.Lifetime.Span(string.Empty, tokyo));
    }

    [Fact]
    public void Usage_in_another_week_is_not_added_to_the_current_week()
    {
        var counters = new BudgetCounters();
        counters.Roll(Now, TimeZoneInfo.Utc);
        counters.Add(10, 0, null, Now.AddDays(-7), TimeZoneInfo.Utc);
        Assert.Equal(0, counters[BudgetWindows.Weekly].Tokens);
        Assert.Equal(10, counters[BudgetWindows.Lifetime].Tokens);
    }
}
