namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>The windows a budget limit applies to.</summary>
public enum BudgetWindow
{
    Lifetime,
    Daily,
    Monthly,
    Run,
}

/// <summary>What a limit counts.</summary>
public enum BudgetUnit
{
    Tokens,
    Usd,
}

/// <summary>Keys of the current daily and monthly windows in a tenant's time zone (UTC by default).</summary>
public static class BudgetCalendar
{
    public static (string Day, string Month) KeysAt(DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return (local.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                local.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture));
    }

    public static TimeZoneInfo Zone(string? id) =>
        string.IsNullOrEmpty(id) || id == "UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(id);
}

/// <summary>A limit that a reservation would break.</summary>
public sealed record BudgetViolation(BudgetWindow Window, BudgetUnit Unit, decimal Used, decimal Reserved, decimal Limit, decimal Requested)
{
    public override string ToString() =>
        $"{Window} {Unit} budget exceeded: used {Used}, in flight {Reserved}, limit {Limit}, this call needs {Requested}";
}
