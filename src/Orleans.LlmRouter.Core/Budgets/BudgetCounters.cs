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

    /// <summary>Usage per run id: tokens, USD and when the run last settled a call (idle runs are dropped, see <see cref="DropIdleRuns"/>).</summary>
    public Dictionary<string, RunUsage> Runs { get; set; } = new(StringComparer.Ordinal);

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
            var run = Runs.GetValueOrDefault(runId);
            Runs[runId] = new RunUsage(run.Tokens + tokens, run.Usd + usd, run.LastAt > at ? run.LastAt : at);
        }
    }

    /// <summary>
    /// Drops runs that settled nothing since <paramref name="idleSince"/> (their totals stay in the ledger), so run ids
    /// do not accumulate in grain state. Returns how many were dropped.
    /// </summary>
    public int DropIdleRuns(DateTimeOffset idleSince)
    {
        List<string>? idle = null;
        foreach (var (id, run) in Runs)
        {
            if (run.LastAt < idleSince)
            {
                (idle ??= []).Add(id);
            }
        }

        foreach (var id in idle ?? [])
        {
            Runs.Remove(id);
        }

        return idle?.Count ?? 0;
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
        Runs = new Dictionary<string, RunUsage>(Runs, StringComparer.Ordinal),
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
            ?? (runId is null ? null : Tokens(BudgetWindow.Run, limits.RunTokens, used.Runs.GetValueOrDefault(runId).Tokens, inFlight.RunTokens(runId), tokens))
            ?? Usd(BudgetWindow.Lifetime, limits.LifetimeUsd, used.LifetimeUsd, inFlight.Usd, usd)
            ?? Usd(BudgetWindow.Daily, limits.DailyUsd, used.DayUsd, inFlight.Usd, usd)
            ?? Usd(BudgetWindow.Monthly, limits.MonthlyUsd, used.MonthUsd, inFlight.Usd, usd)
            ?? (runId is null ? null : Usd(BudgetWindow.Run, limits.RunUsd, used.Runs.GetValueOrDefault(runId).Usd, inFlight.RunUsd(runId), usd));
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

/// <summary>
/// Reservations in flight for one tenant. Memory only, and each one a lease: it expires at <c>ExpiresAt</c> unless its
/// holder (the silo running the call) renews it, so a holder that dies gives its reservations back within one lease
/// term instead of shrinking the tenant's budget until deactivation.
/// </summary>
public sealed class InFlight
{
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Tokens, decimal Usd)> _runs = new(StringComparer.Ordinal);

    public long Tokens { get; private set; }

    public decimal Usd { get; private set; }

    public int Count => _byId.Count;

    public long RunTokens(string runId) => _runs.GetValueOrDefault(runId).Tokens;

    public decimal RunUsd(string runId) => _runs.GetValueOrDefault(runId).Usd;

    /// <summary>Adds a reservation that expires at <paramref name="expiresAt"/> unless renewed.</summary>
    public void Add(string id, long tokens, decimal usd, string? runId, DateTimeOffset expiresAt = default)
    {
        _byId.Add(id, new Entry(tokens, usd, runId, expiresAt == default ? DateTimeOffset.MaxValue : expiresAt));
        Tokens += tokens;
        Usd += usd;
        if (runId is not null)
        {
            var run = _runs.GetValueOrDefault(runId);
            _runs[runId] = (run.Tokens + tokens, run.Usd + usd);
        }
    }

    /// <summary>The tokens a reservation holds, or null when it is not (or no longer) held.</summary>
    public long? TokensOf(string id) => _byId.TryGetValue(id, out var e) ? e.Tokens : null;

    /// <summary>Extends the reservations that are still held to <paramref name="expiresAt"/>; returns how many were.</summary>
    public int Renew(IEnumerable<string> ids, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var renewed = 0;
        foreach (var id in ids)
        {
            if (_byId.TryGetValue(id, out var e))
            {
                _byId[id] = e with { ExpiresAt = expiresAt };
                renewed++;
            }
        }

        return renewed;
    }

    /// <summary>Removes every reservation whose lease ended before <paramref name="now"/>; returns how many.</summary>
    public int Expire(DateTimeOffset now)
    {
        List<string>? expired = null;
        foreach (var (id, e) in _byId)
        {
            if (e.ExpiresAt <= now)
            {
                (expired ??= []).Add(id);
            }
        }

        foreach (var id in expired ?? [])
        {
            Remove(id);
        }

        return expired?.Count ?? 0;
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
            var run = _runs[r.RunId];
            run = (run.Tokens - r.Tokens, run.Usd - r.Usd);
            if (run.Tokens == 0 && run.Usd == 0)
            {
                _runs.Remove(r.RunId);
            }
            else
            {
                _runs[r.RunId] = run;
            }
        }

        return true;
    }

    private readonly record struct Entry(long Tokens, decimal Usd, string? RunId, DateTimeOffset ExpiresAt);
}
