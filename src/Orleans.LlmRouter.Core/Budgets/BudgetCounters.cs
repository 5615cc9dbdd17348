using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>
/// Cumulative usage of one tenant per window. Daily and monthly windows roll over by themselves when their key
/// changes (no sweep job). Plain settable properties: it is persisted as grain state.
/// </summary>
public sealed class BudgetCounters
{
    public long LifetimeTokens { get; set; }

    public decimal LifetimeUsd { get; set; }

    public string DayKey { get; set; } = string.Empty;

    public long DayTokens { get; set; }

    public decimal DayUsd { get; set; }

    public string MonthKey { get; set; } = string.Empty;

    public long MonthTokens { get; set; }

    public decimal MonthUsd { get; set; }

    public Dictionary<string, long> RunTokens { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Soft alerts already fired, by window key (e.g. <c>day:2026-11-22:usd</c>).</summary>
    public HashSet<string> AlertsFired { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Resets the daily/monthly counters when <paramref name="now"/> is in a new window.</summary>
    public void Roll(DateTimeOffset now, TimeZoneInfo zone)
    {
        var (day, month) = BudgetCalendar.KeysAt(now, zone);
        if (DayKey != day)
        {
            DayKey = day;
            DayTokens = 0;
            DayUsd = 0;
        }

        if (MonthKey != month)
        {
            MonthKey = month;
            MonthTokens = 0;
            MonthUsd = 0;
        }
    }

    /// <summary>Adds usage that happened at <paramref name="at"/> (only to the windows it falls in).</summary>
    public void Add(long tokens, decimal usd, string? runId, DateTimeOffset at, TimeZoneInfo zone)
    {
        LifetimeTokens += tokens;
        LifetimeUsd += usd;
        var (day, month) = BudgetCalendar.KeysAt(at, zone);
        if (day == DayKey)
        {
            DayTokens += tokens;
            DayUsd += usd;
        }

        if (month == MonthKey)
        {
            MonthTokens += tokens;
            MonthUsd += usd;
        }

        if (runId is not null)
        {
            RunTokens[runId] = RunTokens.GetValueOrDefault(runId) + tokens;
        }
    }

    public BudgetCounters Clone() => new()
    {
        LifetimeTokens = LifetimeTokens,
        LifetimeUsd = LifetimeUsd,
        DayKey = DayKey,
        DayTokens = DayTokens,
        DayUsd = DayUsd,
        MonthKey = MonthKey,
        MonthTokens = MonthTokens,
        MonthUsd = MonthUsd,
        RunTokens = new Dictionary<string, long>(RunTokens, StringComparer.Ordinal),
        AlertsFired = new HashSet<string>(AlertsFired, StringComparer.Ordinal),
    };
}

/// <summary>
/// Admission arithmetic of a tenant budget: a reservation fits when, in every window that has a limit,
/// settled usage + reservations in flight + this reservation stays within the limit. That single check, done in one
/// serialized place per tenant, is what makes concurrency unable to overshoot.
/// </summary>
public static class BudgetRules
{
    public static BudgetViolation? Check(TenantBudgets limits, BudgetCounters used, InFlight inFlight, long tokens, decimal usd, string? runId)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(used);
        ArgumentNullException.ThrowIfNull(inFlight);
        return Tokens(BudgetWindow.Lifetime, limits.LifetimeTokens, used.LifetimeTokens, inFlight.Tokens, tokens)
            ?? Tokens(BudgetWindow.Daily, limits.DailyTokens, used.DayTokens, inFlight.Tokens, tokens)
            ?? Tokens(BudgetWindow.Monthly, limits.MonthlyTokens, used.MonthTokens, inFlight.Tokens, tokens)
            ?? (runId is null ? null : Tokens(BudgetWindow.Run, limits.RunTokens, used.RunTokens.GetValueOrDefault(runId), inFlight.RunTokens(runId), tokens))
            ?? Usd(BudgetWindow.Lifetime, limits.LifetimeUsd, used.LifetimeUsd, inFlight.Usd, usd)
            ?? Usd(BudgetWindow.Daily, limits.DailyUsd, used.DayUsd, inFlight.Usd, usd)
            ?? Usd(BudgetWindow.Monthly, limits.MonthlyUsd, used.MonthUsd, inFlight.Usd, usd);
    }

    /// <summary>Soft-alert keys newly crossed by the current usage (each fires once per window).</summary>
    public static IEnumerable<(string Key, BudgetWindow Window, BudgetUnit Unit, decimal Used, decimal Limit)> CrossedAlerts(TenantBudgets limits, BudgetCounters used, decimal threshold)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(used);
        // Runs on every settle: a window's key is only built once its threshold is crossed.
        for (var i = 0; i < 6; i++)
        {
            var unit = i < 3 ? BudgetUnit.Tokens : BudgetUnit.Usd;
            var window = (i % 3) switch { 0 => BudgetWindow.Lifetime, 1 => BudgetWindow.Daily, _ => BudgetWindow.Monthly };
            var (current, cap) = i switch
            {
                0 => ((decimal)used.LifetimeTokens, (decimal?)limits.LifetimeTokens),
                1 => (used.DayTokens, (decimal?)limits.DailyTokens),
                2 => (used.MonthTokens, (decimal?)limits.MonthlyTokens),
                3 => (used.LifetimeUsd, limits.LifetimeUsd),
                4 => (used.DayUsd, limits.DailyUsd),
                _ => (used.MonthUsd, limits.MonthlyUsd),
            };
            if (cap is not { } limit || limit <= 0 || current < limit * threshold)
            {
                continue;
            }

            var suffix = unit == BudgetUnit.Tokens ? "tokens" : "usd";
            var key = window switch
            {
                BudgetWindow.Lifetime => "lifetime:" + suffix,
                BudgetWindow.Daily => $"day:{used.DayKey}:{suffix}",
                _ => $"month:{used.MonthKey}:{suffix}",
            };
            if (!used.AlertsFired.Contains(key))
            {
                yield return (key, window, unit, current, limit);
            }
        }
    }

    private static BudgetViolation? Tokens(BudgetWindow window, long? limit, long used, long reserved, long requested) =>
        limit is { } l && used + reserved + requested > l ? new BudgetViolation(window, BudgetUnit.Tokens, used, reserved, l, requested) : null;

    private static BudgetViolation? Usd(BudgetWindow window, decimal? limit, decimal used, decimal reserved, decimal requested) =>
        limit is { } l && used + reserved + requested > l ? new BudgetViolation(window, BudgetUnit.Usd, used, reserved, l, requested) : null;
}

/// <summary>Reservations in flight for one tenant (memory only: a crash releases them, which can only under-count).</summary>
public sealed class InFlight
{
    private readonly Dictionary<string, (long Tokens, decimal Usd, string? RunId)> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _runTokens = new(StringComparer.Ordinal);

    public long Tokens { get; private set; }

    public decimal Usd { get; private set; }

    public int Count => _byId.Count;

    public long RunTokens(string runId) => _runTokens.GetValueOrDefault(runId);

    public void Add(string id, long tokens, decimal usd, string? runId)
    {
        _byId.Add(id, (tokens, usd, runId));
        Tokens += tokens;
        Usd += usd;
        if (runId is not null)
        {
            _runTokens[runId] = _runTokens.GetValueOrDefault(runId) + tokens;
        }
    }

    /// <summary>Removes a reservation; false when it was not (or no longer) held.</summary>
    public bool Remove(string id)
    {
        if (!_byId.Remove(id, out var r))
        {
            return false;
        }

        Tokens -= r.Tokens;
        Usd -= r.Usd;
        if (r.RunId is not null)
        {
            _runTokens[r.RunId] -= r.Tokens;
        }

        return true;
    }
}
