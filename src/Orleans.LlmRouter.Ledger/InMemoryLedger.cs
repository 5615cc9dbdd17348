using System.Runtime.CompilerServices;

namespace Orleans.LlmRouter.Ledger;

/// <summary>The embedded default's ledger: process memory, lost on restart (the host says so at start-up).</summary>
public sealed class InMemoryLedger : ILedger
{
    private readonly Lock _lock = new();
    private readonly List<LedgerRecord> _records = [];
    private readonly HashSet<string> _requestIds = new(StringComparer.Ordinal);

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
            if (!_requestIds.Add(record.RequestId))
            {
                return ValueTask.FromResult(false);
            }

            _records.Add(record);
            return ValueTask.FromResult(true);
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

    public static UsageTotals Totals(IEnumerable<LedgerRecord> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        long calls = 0, failed = 0, prompt = 0, completion = 0, cached = 0;
        decimal cost = 0;
        foreach (var r in rows)
        {
            calls++;
            failed += r.Success ? 0 : 1;
            prompt += r.PromptTokens;
            completion += r.CompletionTokens;
            cached += r.CachedTokens;
            cost += r.CostUsd;
        }

        return new UsageTotals(calls, failed, prompt, completion, cached, cost);
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
