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
            _levels.Remove(gone);
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
    public BudgetAccount[] Of(BudgetPath path)
    {
        if (_levels.Count == 0 || (path.ProjectId is null && path.KeyId is null && path.EndUser is null))
        {
            return [];
        }

        var found = new List<BudgetAccount>(3);
        Add(BudgetLevels.Project, path.ProjectId);
        Add(BudgetLevels.Key, path.KeyId);
        Add(BudgetLevels.EndUser, path.EndUser);
        return [.. found];

        void Add(string level, string? id)
        {
            if (id is not null && _levels.TryGetValue(LevelDefinition.CounterKeyOf(level, id), out var account))
            {
                found.Add(account);
            }
        }
    }

    /// <summary>The accounts a ledger row counts in: those that exist and count from before its sequence number.</summary>
    public BudgetAccount[] Of(LedgerRecord row)
    {
        if (_levels.Count == 0 || (row.ProjectId is null && row.KeyId is null && row.EndUser is null))
        {
            return [];
        }

        return LedgerRows.LevelKeys(row)
            .Select(k => _levels.GetValueOrDefault(k))
            .Where(a => a is not null && row.TenantSeq >= a.FromSeq)
            .ToArray()!;
    }

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
