namespace Orleans.LlmRouter.Core.Budgets;

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
