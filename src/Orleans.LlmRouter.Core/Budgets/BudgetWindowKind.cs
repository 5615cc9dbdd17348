namespace Orleans.LlmRouter.Core.Budgets;

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
