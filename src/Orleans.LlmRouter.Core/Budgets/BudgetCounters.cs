using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>Usage of one calendar window: the key of the window it counts (e.g. <c>2026-11-22</c>), tokens and USD.</summary>
internal readonly record struct WindowCount(string Key, long Tokens, decimal Usd);

/// <summary>
/// Cumulative usage of one tenant per window of <see cref="BudgetWindows.All"/>. Windows roll over by themselves when
/// their key changes (no sweep job). Plain settable properties: it is persisted as grain state.
/// </summary>
internal sealed class BudgetCounters
{
    /// <summary>Usage per window name; a window not present counts nothing yet.</summary>
    public Dictionary<string, WindowCount> Windows { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Usage per run id: tokens, USD and when the run last settled a call (idle runs are dropped, see <see cref="DropIdleRuns"/>).</summary>
    public Dictionary<string, RunUsage> Runs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Soft alerts already fired, by window key (e.g. <c>day:2026-11-22:usd</c>).</summary>
    public HashSet<string> AlertsFired { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The usage of <paramref name="window"/> (empty key and zero when it has counted nothing).</summary>
    public WindowCount this[BudgetWindowKind window] =>
        Windows.TryGetValue(window?.Name ?? throw new ArgumentNullException(nameof(window)), out var c) ? c : new WindowCount(string.Empty, 0, 0m);

    /// <summary>Resets every window whose key at <paramref name="now"/> differs from the one it counts.</summary>
    public void Roll(DateTimeOffset now, TimeZoneInfo zone)
    {
        foreach (var window in BudgetWindows.All)
        {
            var key = window.KeyAt(now, zone);
            if (this[window].Key != key)
            {
                Windows[window.Name] = new WindowCount(key, 0, 0m);
            }
        }
    }

    /// <summary>Adds usage that happened at <paramref name="at"/> (only to the windows it falls in).</summary>
    public void Add(long tokens, decimal usd, string? runId, DateTimeOffset at, TimeZoneInfo zone)
    {
        foreach (var window in BudgetWindows.All)
        {
            var current = this[window];
            if (window.KeyAt(at, zone) == current.Key)
            {
                Windows[window.Name] = current with { Tokens = current.Tokens + tokens, Usd = current.Usd + usd };
            }
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
        Windows = new Dictionary<string, WindowCount>(Windows, StringComparer.Ordinal),
        Runs = new Dictionary<string, RunUsage>(Runs, StringComparer.Ordinal),
        AlertsFired = new HashSet<string>(AlertsFired, StringComparer.Ordinal),
    };
}

/// <summary>
/// Admission arithmetic of a tenant budget: a reservation fits when, in every window that has a limit,
/// settled usage + reservations in flight + this reservation stays within the limit. That single check, done in one
/// serialized place per tenant, is what makes concurrency unable to overshoot.
/// </summary>
internal static class BudgetRules
{
    private static readonly BudgetUnit[] Units = [BudgetUnit.Tokens, BudgetUnit.Usd];

    public static BudgetViolation? Check(TenantBudgets limits, BudgetCounters used, InFlight inFlight, long tokens, decimal usd, string? runId)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(used);
        ArgumentNullException.ThrowIfNull(inFlight);
        foreach (var unit in Units)
        {
            var reserved = unit == BudgetUnit.Tokens ? inFlight.Tokens : inFlight.Usd;
            var requested = unit == BudgetUnit.Tokens ? tokens : usd;
            foreach (var window in BudgetWindows.All)
            {
                var count = used[window];
                if (Over(window.Name, unit, limits.Limit(window.Name, unit), unit == BudgetUnit.Tokens ? count.Tokens : count.Usd, reserved, requested) is { } v)
                {
                    return v;
                }
            }

            if (runId is not null)
            {
                var run = used.Runs.GetValueOrDefault(runId);
                var runReserved = unit == BudgetUnit.Tokens ? inFlight.RunTokens(runId) : inFlight.RunUsd(runId);
                if (Over(BudgetWindows.Run, unit, limits.Limit(BudgetWindows.Run, unit), unit == BudgetUnit.Tokens ? run.Tokens : run.Usd, runReserved, requested) is { } v)
                {
                    return v;
                }
            }
        }

        return null;
    }

    /// <summary>Soft-alert keys newly crossed by the current usage (each fires once per window).</summary>
    public static IEnumerable<(string Key, BudgetWindowKind Window, BudgetUnit Unit, decimal Used, decimal Limit)> CrossedAlerts(TenantBudgets limits, BudgetCounters used, decimal threshold)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(used);
        // Runs on every settle: a window's key is only built once its threshold is crossed.
        foreach (var unit in Units)
        {
            foreach (var window in BudgetWindows.All)
            {
                var count = used[window];
                var current = unit == BudgetUnit.Tokens ? count.Tokens : count.Usd;
                if (limits.Limit(window.Name, unit) is not { } limit || limit <= 0 || current < limit * threshold)
                {
                    continue;
                }

                var key = window.AlertKey(count.Key, unit);
                if (!used.AlertsFired.Contains(key))
                {
                    yield return (key, window, unit, current, limit);
                }
            }
        }
    }

    private static BudgetViolation? Over(string window, BudgetUnit unit, decimal? limit, decimal used, decimal reserved, decimal requested) =>
        limit is { } l && used + reserved + requested > l ? new BudgetViolation(window, unit, used, reserved, l, requested) : null;
}

/// <summary>
/// Reservations in flight for one tenant. Memory only, and each one a lease: it expires at <c>ExpiresAt</c> unless its
/// holder (the silo running the call) renews it, so a holder that dies gives its reservations back within one lease
/// term instead of shrinking the tenant's budget until deactivation.
/// </summary>
internal sealed class InFlight
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
