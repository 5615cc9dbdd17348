using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// The accounts of a tenant's levels below it (projects, keys, end users with settings) inside its budget grain, by
/// counter key (<c>project:p1</c>), and which of them each reservation in flight holds. Plain state, no I/O.
/// </summary>
internal sealed class LevelAccounts
{
    private readonly Dictionary<string, BudgetAccount> _levels = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Level, string Id), BudgetAccount> _byLevel = []; // the same accounts, found without building a key
    private readonly Dictionary<string, BudgetAccount[]> _held = new(StringComparer.Ordinal);

    public IEnumerable<BudgetAccount> All => _levels.Values;

    /// <summary>True while some reservation holds a level.</summary>
    public bool AnyHeld => _held.Count > 0;

    /// <summary>An account as persisted (its counters are set by the caller).</summary>
    public BudgetAccount Restore(string counterKey, long fromSeq)
    {
        var colon = counterKey.IndexOf(':', StringComparison.Ordinal);
        var account = new BudgetAccount(counterKey[..colon], counterKey[(colon + 1)..]) { FromSeq = fromSeq };
        _levels[counterKey] = account;
        _byLevel[(account.Level, account.Id)] = account;
        return account;
    }

    /// <summary>
    /// Keeps an account for every project, key and end user the tenant defines (new ones count rows from
    /// <paramref name="fromSeq"/>, their windows rolled to <paramref name="now"/>) and drops the others; true when the set changed.
    /// </summary>
    public bool Define(TenantDefinition tenant, long fromSeq, DateTimeOffset now, TimeZoneInfo zone)
    {
        var defined = tenant.Projects.Values.Concat(tenant.Keys.Values.Select(k => k.Level)).Concat(tenant.EndUsers.Values).ToList();
        var keys = new HashSet<string>(defined.Select(l => l.CounterKey), StringComparer.Ordinal);
        var changed = false;
        foreach (var gone in _levels.Keys.Where(k => !keys.Contains(k)).ToList())
        {
            _levels.Remove(gone, out var account);
            _byLevel.Remove((account!.Level, account.Id));
            changed = true;
        }

        foreach (var level in defined)
        {
            if (!_levels.TryGetValue(level.CounterKey, out var account))
            {
                account = Restore(level.CounterKey, fromSeq);
                account.Prefix.Roll(now, zone);
                account.Live = account.Prefix.Clone();
                changed = true;
            }

            account.Configure(level.Budgets, level.Limits, level.SoftAlertThreshold, level.AlertWebhook);
        }

        return changed;
    }

    /// <summary>The accounts a call on <paramref name="path"/> reserves at (those defined).</summary>
    public BudgetAccount[] Of(BudgetPath path) => Of(path.ProjectId, path.KeyId, path.EndUser, long.MaxValue);

    /// <summary>The accounts a ledger row counts in: those that exist and count from before its sequence number.</summary>
    public BudgetAccount[] Of(LedgerRecord row) => Of(row.ProjectId, row.KeyId, row.EndUser, row.TenantSeq);

    private BudgetAccount[] Of(string? project, string? key, string? endUser, long seq)
    {
        if (_byLevel.Count == 0 || (project is null && key is null && endUser is null))
        {
            return [];
        }

        var p = Find(BudgetLevels.Project, project, seq);
        var k = Find(BudgetLevels.Key, key, seq);
        var u = Find(BudgetLevels.EndUser, endUser, seq);
        var count = (p is null ? 0 : 1) + (k is null ? 0 : 1) + (u is null ? 0 : 1);
        if (count == 0)
        {
            return [];
        }

        var found = new BudgetAccount[count];
        var i = 0;
        foreach (var a in (ReadOnlySpan<BudgetAccount?>)[p, k, u])
        {
            if (a is not null)
            {
                found[i++] = a;
            }
        }

        return found;
    }

    private BudgetAccount? Find(string level, string? id, long seq) =>
        id is not null && _byLevel.TryGetValue((level, id), out var account) && seq >= account.FromSeq ? account : null;

    /// <summary>Remembers which levels a reservation holds (it was added to each of them).</summary>
    public void Held(string reservationId, BudgetAccount[] levels)
    {
        if (levels.Length > 0)
        {
            _held[reservationId] = levels;
        }
    }

    /// <summary>Gives back a reservation at every level it holds.</summary>
    public void Drop(string reservationId)
    {
        if (_held.Remove(reservationId, out var levels))
        {
            foreach (var level in levels)
            {
                level.InFlight.Remove(reservationId);
            }
        }
    }

    /// <summary>Extends a reservation's lease at every level it holds.</summary>
    public void Renew(IEnumerable<string> reservationIds, DateTimeOffset until)
    {
        foreach (var id in reservationIds)
        {
            foreach (var level in _held.GetValueOrDefault(id) ?? [])
            {
                level.InFlight.Renew([id], until);
            }
        }
    }

    /// <summary>The persisted form of every account's prefix.</summary>
    public Dictionary<string, LevelState> Snapshot() => _levels.ToDictionary(
        kv => kv.Key,
        kv => new LevelState { Counters = BudgetCountersState.From(kv.Value.Prefix), FromSeq = kv.Value.FromSeq, LastUsedAt = kv.Value.LastUsedAt },
        StringComparer.Ordinal);
}
