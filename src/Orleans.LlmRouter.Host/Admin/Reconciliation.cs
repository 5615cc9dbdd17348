using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// The audit of one tenant: every budget window recomputed from the ledger (lifetime, the current day, ISO week and
/// month in the tenant's time zone, each run) and compared with the live counters of its budget grain; plus the reservations
/// in flight. A difference is <c>counter − ledger</c>. The ledger side includes rows quarantined and rows still in
/// this process's spool, because the grain counted them when they settled.
/// </summary>
internal static class Reconciliation
{
    /// <summary>Recomputes and compares. Counters are read before and after the ledger and the pair retried while a settle moves them.</summary>
    public static async Task<ReconcileReport> ReconcileAsync(string tenantId, string? timeZone, ILedger ledger, IGrainFactory grains, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(time);
        var zone = BudgetCalendar.Zone(timeZone);
        var budget = grains.GetTenantBudget(tenantId);
        ReconcileReport report;
        var attempt = 0;
        while (true)
        {
            var before = await budget.GetUsageAsync();
            var windows = Windows(before, zone, time.GetUtcNow());
            var balance = await ledger.BalanceAsync(tenantId, windows, cancellationToken);
            var levels = HasLevels(before) ? await LevelsAsync(tenantId, zone, ledger, before, time.GetUtcNow(), cancellationToken) : [];
            var after = await budget.GetUsageAsync();
            report = Compare(tenantId, zone, after, balance);
            report = report with { Levels = levels, Consistent = report.Consistent && levels.All(l => l.Consistent) };
            // A settle between the two reads of the counters makes a difference that is not one; read again.
            if (report.Consistent || (Settled(before) == Settled(after)) || ++attempt >= 3)
            {
                return report;
            }
        }
    }

    private static bool HasLevels(TenantUsage usage) => usage.Levels.Count > 0;

    /// <summary>
    /// Each level's counters (project, key, budgeted end user) against the sums of its ledger rows from the sequence
    /// number it counts from, per window, recomputed the way the budget grain counts them.
    /// </summary>
    public static async Task<List<ReconcileLevel>> LevelsAsync(string tenantId, TimeZoneInfo zone, ILedger ledger, TenantUsage counters, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(counters);
        var sums = counters.Levels.ToDictionary(l => (l.Level, l.Id), _ => new BudgetCounters());
        foreach (var c in sums.Values)
        {
            c.Roll(now, zone);
        }

        var from = counters.Levels.ToDictionary(l => (l.Level, l.Id), l => l.FromSeq);
        await foreach (var row in ledger.ReadAfterAsync(tenantId, long.MinValue, cancellationToken))
        {
            Count((Contracts.BudgetLevels.Project, row.ProjectId), row);
            Count((Contracts.BudgetLevels.Key, row.KeyId), row);
            Count((Contracts.BudgetLevels.EndUser, row.EndUser), row);
        }

        return counters.Levels.Select(level =>
        {
            var ledgerSide = sums[(level.Level, level.Id)];
            var lines = BudgetWindows.All.Select(w =>
            {
                var counted = level.Windows.FirstOrDefault(c => c.Window == w.Name);
                var l = ledgerSide[w];
                return Line(new WindowBalance(w.Name, w.IsLifetime ? null : l.Key, 0, l.Tokens, l.Usd), counted?.Tokens, counted?.CostUsd, compareUsd: true, note: null);
            }).ToList();
            return new ReconcileLevel(level.Level, level.Id, lines.All(l => l.Consistent), level.FromSeq, lines, new ReconcileInFlight(level.ReservationsInFlight, level.ReservedTokens, level.ReservedUsd));
        }).ToList();

        void Count((string Level, string? Id) key, LedgerRecord row)
        {
            if (key.Id is { } id && sums.TryGetValue((key.Level, id), out var c) && row.TenantSeq >= from[(key.Level, id)])
            {
                c.Add(row.TotalTokens, row.CostUsd, null, row.CompletedAt, zone);
            }
        }
    }

    /// <summary>Compares a tenant's counters with its ledger balance (pure: no I/O).</summary>
    public static ReconcileReport Compare(string tenantId, TimeZoneInfo zone, TenantUsage counters, LedgerBalance balance)
    {
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(balance);
        var lines = new List<ReconcileWindow>();
        foreach (var w in balance.Windows)
        {
            var counter = counters.Windows.FirstOrDefault(c => c.Window == w.Window);
            lines.Add(Line(w, counter?.Tokens, counter?.CostUsd, compareUsd: true, note: counter is null ? "the counters have no such window" : null));
        }

        // Run windows: tokens and USD are compared; a run the grain no longer holds (dropped after being idle) is listed
        // but is no difference.
        var counterRuns = counters.Windows.Where(c => c.Window == "run" && c.Key is not null).ToDictionary(c => c.Key!, StringComparer.Ordinal);
        const bool runUsd = true;
        var ledgerRuns = balance.Runs.ToDictionary(r => r.Key!, StringComparer.Ordinal);
        foreach (var run in ledgerRuns.Keys.Union(counterRuns.Keys).Order(StringComparer.Ordinal))
        {
            var l = ledgerRuns.GetValueOrDefault(run) ?? new WindowBalance("run", run, 0, 0, 0m);
            if (counterRuns.TryGetValue(run, out var c))
            {
                lines.Add(Line(l, c.Tokens, c.CostUsd, runUsd, runUsd ? null : "the counters count this run's tokens only"));
            }
            else
            {
                lines.Add(new ReconcileWindow("run", run, l.Rows, l.Tokens, null, null, l.CostUsd, null, null, true, "not held by the counters (a finished run dropped after being idle)"));
            }
        }

        var inFlight = new ReconcileInFlight(counters.ReservationsInFlight, counters.ReservedTokens, counters.ReservedUsd);
        return new ReconcileReport(tenantId, lines.All(l => l.Consistent), zone.Id, lines, inFlight, balance.QuarantinedRows, balance.SpooledRows, counters.LedgerPosition);
    }

    /// <summary>The ledger windows matching the counters' current window keys (or the current ones, when a key is missing).</summary>
    public static IReadOnlyList<BalanceWindow> Windows(TenantUsage counters, TimeZoneInfo zone, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(zone);
        var windows = new List<BalanceWindow>(BudgetWindows.All.Count);
        foreach (var w in BudgetWindows.All)
        {
            if (w.IsLifetime)
            {
                windows.Add(new BalanceWindow(w.Name, null, null, null));
                continue;
            }

            var key = counters.Windows.FirstOrDefault(c => c.Window == w.Name)?.Key is { Length: > 0 } k ? k : w.KeyAt(now, zone);
            var (from, to) = w.Span(key, zone)!.Value;
            windows.Add(new BalanceWindow(w.Name, key, from, to));
        }

        return windows;
    }

    private static (long Position, long Tokens, decimal Usd) Settled(TenantUsage u)
    {
        var lifetime = u.Windows.FirstOrDefault(w => w.Window == "lifetime");
        return (u.LedgerPosition, lifetime?.Tokens ?? 0, lifetime?.CostUsd ?? 0);
    }

    private static ReconcileWindow Line(WindowBalance l, long? counterTokens, decimal? counterUsd, bool compareUsd, string? note)
    {
        var tokenDiff = counterTokens - l.Tokens;
        decimal? usdDiff = compareUsd ? counterUsd - l.CostUsd : null;
        var consistent = tokenDiff == 0 && (!compareUsd || usdDiff == 0);
        return new ReconcileWindow(l.Window, l.Key, l.Rows, l.Tokens, counterTokens, tokenDiff, l.CostUsd, compareUsd ? counterUsd : null, usdDiff, consistent, note);
    }
}
