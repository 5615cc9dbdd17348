namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>Time-zone helpers of the budget windows (UTC by default).</summary>
internal static class BudgetCalendar
{
    public static TimeZoneInfo Zone(string? id) =>
        string.IsNullOrEmpty(id) || id == "UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(id);

    /// <summary>The first instant of a local window start (a start skipped by a clock change begins at the first valid time).</summary>
    public static DateTimeOffset StartOf(DateTime localStart, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var t = DateTime.SpecifyKind(localStart, DateTimeKind.Unspecified);
        for (var i = 0; i < 24 * 4 && zone.IsInvalidTime(t); i++)
        {
            t = t.AddMinutes(15);
        }

        var offset = zone.IsAmbiguousTime(t) ? zone.GetAmbiguousTimeOffsets(t).Max() : zone.GetUtcOffset(t);
        return new DateTimeOffset(t, offset);
    }
}
