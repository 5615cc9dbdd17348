using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>
/// Admission arithmetic of a tenant budget: a reservation fits when, in every window that has a limit,
/// settled usage + reservations in flight + this reservation stays within the limit. That single check, done in one
/// serialized place per tenant, is what makes concurrency unable to overshoot.
/// </summary>
internal static class BudgetRules
{
    private static readonly BudgetUnit[] Units = [BudgetUnit.Tokens, BudgetUnit.Usd];

    public static BudgetViolation? Check(BudgetLimits limits, BudgetCounters used, InFlight inFlight, long tokens, decimal usd, string? runId)
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
    public static IEnumerable<(string Key, BudgetWindowKind Window, BudgetUnit Unit, decimal Used, decimal Limit)> CrossedAlerts(BudgetLimits limits, BudgetCounters used, decimal threshold)
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
