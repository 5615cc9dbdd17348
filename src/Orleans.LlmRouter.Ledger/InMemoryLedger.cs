using System.Runtime.CompilerServices;

namespace Orleans.LlmRouter.Ledger;

/// <summary>The embedded default's ledger: process memory, lost on restart (the host says so at start-up).</summary>
internal sealed partial class InMemoryLedger : ILedger
{
    private readonly Lock _lock = new();
    private readonly List<LedgerRecord> _records = [];
    private readonly HashSet<string> _requestIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _epochs = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    public ValueTask<bool> AppendAsync(LedgerRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            if (record.Epoch != 0 && record.Epoch < _epochs.GetValueOrDefault(record.TenantId))
            {
                return ValueTask.FromException<bool>(new LedgerFencedException($"Tenant '{record.TenantId}': a newer writer raised the fence."));
            }

            if (!_requestIds.Add(record.RequestId))
            {
                return ValueTask.FromResult(false);
            }

            _records.Add(record);
            return ValueTask.FromResult(true);
        }
    }

    public Task<long> FenceAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var epoch = _epochs.GetValueOrDefault(tenantId) + 1;
            _epochs[tenantId] = epoch;
            return Task.FromResult(epoch);
        }
    }

    public async IAsyncEnumerable<LedgerRecord> ReadAfterAsync(string tenantId, long afterTenantSeq, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<LedgerRecord> rows;
        lock (_lock)
        {
            rows = _records.Where(r => r.TenantId == tenantId && r.TenantSeq > afterTenantSeq).OrderBy(r => r.TenantSeq).ToList();
        }

        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return row;
        }

        await Task.CompletedTask;
    }

    public async IAsyncEnumerable<LedgerRecord> QueryAsync(UsageQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        List<LedgerRecord> rows;
        lock (_lock)
        {
            rows = _records.Where(r => Matches(r, query)).OrderBy(r => r.CompletedAt).ToList();
        }

        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return row;
        }

        await Task.CompletedTask;
    }

    public async Task<UsageReport> ReportAsync(UsageQuery query, CancellationToken cancellationToken = default)
    {
        var rows = new List<LedgerRecord>();
        await foreach (var r in QueryAsync(query, cancellationToken))
        {
            rows.Add(r);
        }

        var days = rows.GroupBy(r => DateOnly.FromDateTime(r.CompletedAt.UtcDateTime))
            .OrderBy(g => g.Key)
            .Select(g => new UsageDay(g.Key, Totals(g)))
            .ToList();
        return new UsageReport(query, Totals(rows), days);
    }

    public Task<bool> IsReachableAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

    public Task<LedgerBalance> BalanceAsync(string tenantId, IReadOnlyList<BalanceWindow> windows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(windows);
        List<LedgerRecord> rows;
        lock (_lock)
        {
            rows = _records.Where(r => r.TenantId == tenantId).ToList();
        }

        return Task.FromResult(Balance(tenantId, rows, windows, quarantined: 0, spooled: 0));
    }

    /// <summary>Memory takes every row: nothing is ever quarantined.</summary>
    public Task<QuarantineReport> QuarantineAsync(int limit = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult(new QuarantineReport(0, 0, []));

    /// <summary>
    /// Test hook: rewrites a stored row in place, as an operator editing the ledger table would (the ledger is
    /// append-only otherwise). Returns false when no row has the request id.
    /// </summary>
    internal bool Amend(string requestId, Func<LedgerRecord, LedgerRecord> change)
    {
        lock (_lock)
        {
            var i = _records.FindIndex(r => r.RequestId == requestId);
            if (i < 0)
            {
                return false;
            }

            _records[i] = change(_records[i]) with { RequestId = requestId };
            return true;
        }
    }

    /// <summary>Window and run balances of a tenant's rows (each request id once).</summary>
    public static LedgerBalance Balance(string tenantId, IReadOnlyCollection<LedgerRecord> rows, IReadOnlyList<BalanceWindow> windows, long quarantined, long spooled)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(windows);
        var balances = windows.Select(w =>
        {
            var inside = rows.Where(r => (w.From is null || r.CompletedAt >= w.From) && (w.To is null || r.CompletedAt < w.To)).ToList();
            return new WindowBalance(w.Window, w.Key, inside.Count, inside.Sum(r => r.TotalTokens), inside.Sum(r => r.CostUsd));
        }).ToList();
        var runs = rows.Where(r => r.RunId is not null)
            .GroupBy(r => r.RunId!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new WindowBalance("run", g.Key, g.Count(), g.Sum(r => r.TotalTokens), g.Sum(r => r.CostUsd)))
            .ToList();
        return new LedgerBalance(tenantId, balances, runs, quarantined, spooled);
    }

    public static UsageTotals Totals(IEnumerable<LedgerRecord> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        long calls = 0, failed = 0, prompt = 0, completion = 0, cached = 0, reasoning = 0, cacheWrite = 0, cacheWrite1h = 0, estimated = 0, hits = 0;
        decimal cost = 0, saved = 0;
        foreach (var r in rows)
        {
            calls++;
            failed += r.Success ? 0 : 1;
            prompt += r.PromptTokens;
            completion += r.CompletionTokens;
            cached += r.CachedTokens;
            reasoning += r.ReasoningTokens;
            cacheWrite += r.CacheWriteTokens;
            cacheWrite1h += r.CacheWrite1hTokens;
            estimated += r.UsageEstimated ? 1 : 0;
            cost += r.CostUsd;
            hits += r.IsCacheHit ? 1 : 0;
            saved += r.SavedUsd;
        }

        return new UsageTotals(calls, failed, prompt, completion, cached, cost)
        {
            ReasoningTokens = reasoning,
            CacheWriteTokens = cacheWrite,
            CacheWrite1hTokens = cacheWrite1h,
            EstimatedCalls = estimated,
            CacheHits = hits,
            SavedUsd = saved,
        };
    }

    private static bool Matches(LedgerRecord r, UsageQuery q) =>
        r.TenantId == q.TenantId
        && (q.From is null || r.CompletedAt >= q.From)
        && (q.To is null || r.CompletedAt < q.To)
        && (q.Model is null || r.Model == q.Model)
        && (q.Provider is null || r.Provider == q.Provider)
        && (q.Action is null || r.Action == q.Action)
        && (q.Tag is null || r.Tags.Contains(q.Tag));
}
