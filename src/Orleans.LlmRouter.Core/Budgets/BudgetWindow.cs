using System.Globalization;

namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>What a limit counts.</summary>
internal enum BudgetUnit
{
    Tokens,
    Usd,
}

/// <summary>
/// A calendar window of a tenant budget, as data: its name (the YAML key under <c>tokens</c>/<c>usd</c>, the window of
/// usage reports, reconcile lines and budget errors), how the key of the window holding an instant is computed in the
/// tenant's time zone, and where a window starts and ends (for recomputing it from the ledger). Counters, admission
/// rules, soft alerts, persistence, reports and reconcile all iterate <see cref="BudgetWindows.All"/>.
/// </summary>
internal sealed class BudgetWindowKind
{
    private readonly Func<DateTime, string>? _keyOf;
    private readonly Func<string, DateTime>? _startOf;
    private readonly Func<DateTime, DateTime>? _next;

    /// <summary>A window that never rolls over (one constant, empty key).</summary>
    public BudgetWindowKind(string name)
    {
        Name = name;
        AlertPrefix = name;
    }

    /// <summary>A window that rolls over when the key of the current local time changes.</summary>
    /// <param name="name">Its name, e.g. <c>daily</c>.</param>
    /// <param name="alertPrefix">Prefix of its soft-alert keys, e.g. <c>day</c> (alerts fire once per prefix, key and unit).</param>
    /// <param name="keyOf">Local time → the key of the window holding it.</param>
    /// <param name="startOf">Key → the local time the window starts.</param>
    /// <param name="next">Local start of a window → local start of the next one.</param>
    public BudgetWindowKind(string name, string alertPrefix, Func<DateTime, string> keyOf, Func<string, DateTime> startOf, Func<DateTime, DateTime> next)
    {
        Name = name;
        AlertPrefix = alertPrefix;
        _keyOf = keyOf;
        _startOf = startOf;
        _next = next;
    }

    public string Name { get; }

    public string AlertPrefix { get; }

    /// <summary>True for the window that never rolls over.</summary>
    public bool IsLifetime => _keyOf is null;

    /// <summary>The key of the window holding <paramref name="at"/> in <paramref name="zone"/> (empty for lifetime).</summary>
    public string KeyAt(DateTimeOffset at, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return _keyOf is null ? string.Empty : _keyOf(TimeZoneInfo.ConvertTime(at, zone).DateTime);
    }

    /// <summary>The instants [from, to) of the window <paramref name="key"/> in <paramref name="zone"/>; null for lifetime.</summary>
    public (DateTimeOffset From, DateTimeOffset To)? Span(string key, TimeZoneInfo zone)
    {
        if (_startOf is null || _next is null)
        {
            return null;
        }

        var start = _startOf(key);
        return (BudgetCalendar.StartOf(start, zone), BudgetCalendar.StartOf(_next(start), zone));
    }

    /// <summary>The soft-alert key of this window for a counter key and unit (e.g. <c>day:2026-11-22:usd</c>).</summary>
    public string AlertKey(string key, BudgetUnit unit)
    {
        var suffix = unit == BudgetUnit.Tokens ? "tokens" : "usd";
        return IsLifetime ? $"{AlertPrefix}:{suffix}" : $"{AlertPrefix}:{key}:{suffix}";
    }

    public override string ToString() => Name;
}

/// <summary>The budget windows. Adding one is one descriptor here (plus its admin API fields in <c>TenantBudgetLimits</c>).</summary>
internal static class BudgetWindows
{
    /// <summary>The name of per-run limits (<c>run_tokens</c>, <c>run_usd</c>); runs are counted per run id, not by calendar.</summary>
    public const string Run = "run";

    public static BudgetWindowKind Lifetime { get; } = new("lifetime");

    public static BudgetWindowKind Daily { get; } = new(
        "daily", "day",
        t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        k => DateTime.ParseExact(k, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        s => s.AddDays(1));

    /// <summary>The ISO week (Monday 00:00 to Monday 00:00 in the tenant's zone), keyed <c>2026-W48</c>.</summary>
    public static BudgetWindowKind Weekly { get; } = new(
        "weekly", "week",
        t => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(t):D4}-W{ISOWeek.GetWeekOfYear(t):D2}"),
        k => ISOWeek.ToDateTime(int.Parse(k[..4], CultureInfo.InvariantCulture), int.Parse(k[6..], CultureInfo.InvariantCulture), DayOfWeek.Monday),
        s => s.AddDays(7));

    public static BudgetWindowKind Monthly { get; } = new(
        "monthly", "month",
        t => t.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        k => DateTime.ParseExact(k, "yyyy-MM", CultureInfo.InvariantCulture),
        s => s.AddMonths(1));

    /// <summary>Every window, in the order limits are checked and reported.</summary>
    public static IReadOnlyList<BudgetWindowKind> All { get; } = [Lifetime, Daily, Weekly, Monthly];

    /// <summary>The window named <paramref name="name"/>, or null.</summary>
    public static BudgetWindowKind? Find(string name) => All.FirstOrDefault(w => w.Name == name);
}

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

/// <summary>A limit that a reservation would break; <see cref="Window"/> is a window name or <c>run</c>.</summary>
internal sealed record BudgetViolation(string Window, BudgetUnit Unit, decimal Used, decimal Reserved, decimal Limit, decimal Requested)
{
    public override string ToString() =>
        $"{Window} {Unit} budget exceeded: used {Used}, in flight {Reserved}, limit {Limit}, this call needs {Requested}";
}
