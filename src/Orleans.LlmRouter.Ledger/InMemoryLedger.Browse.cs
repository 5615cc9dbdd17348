namespace Orleans.LlmRouter.Ledger;

/// <summary>The in-memory ledger's browsing queries (call log pages, overview aggregates), with PostgreSQL's semantics.</summary>
internal sealed partial class InMemoryLedger
{
    public Task<IReadOnlyList<LedgerRecord>> PageAsync(CallLogQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_lock)
        {
            IReadOnlyList<LedgerRecord> page = _records.Where(r => Matches(r, query))
                .OrderByDescending(r => r.CompletedAt).ThenByDescending(r => r.RequestId, StringComparer.Ordinal)
                .Take(query.ClampedLimit).ToList();
            return Task.FromResult(page);
        }
    }

    public Task<LedgerStats> StatsAsync(LedgerStatsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        List<LedgerRecord> rows;
        lock (_lock)
        {
            rows = _records.Where(r => r.CompletedAt >= query.From && r.CompletedAt < query.To && (query.TenantId is null || r.TenantId == query.TenantId)).ToList();
        }

        var bucketTicks = Math.Max(query.Bucket.Ticks, TimeSpan.TicksPerSecond);
        var buckets = rows.GroupBy(r => new DateTimeOffset(r.CompletedAt.UtcTicks / bucketTicks * bucketTicks, TimeSpan.Zero))
            .OrderBy(g => g.Key)
            .Select(g => new StatsBucket(g.Key, g.LongCount(), g.LongCount(r => !r.Success), g.Sum(r => r.CostUsd)))
            .ToList();
        var errors = rows.Where(r => !r.Success).GroupBy(r => r.ErrorClass ?? "unknown", StringComparer.Ordinal)
            .Select(g => new NamedCount(g.Key, g.LongCount())).OrderByDescending(e => e.Count).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        var latency = rows.Select(r => r.LatencyMs).ToList();
        var ttft = rows.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value).ToList();
        return Task.FromResult(new LedgerStats(
            rows.Count, rows.Count(r => !r.Success), rows.Sum(r => r.CostUsd),
            Percentile(latency, 0.5), Percentile(latency, 0.95), Percentile(ttft, 0.5), Percentile(ttft, 0.95),
            buckets, errors, Top(rows, r => r.TenantId, query.Top), Top(rows, r => r.Model, query.Top)));
    }

    public Task<IReadOnlyList<DayModelSpend>> SpendByDayAndModelAsync(string tenantId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<DayModelSpend> days = _records.Where(r => r.TenantId == tenantId && r.CompletedAt >= from && r.CompletedAt < to)
                .GroupBy(r => (Day: DateOnly.FromDateTime(r.CompletedAt.UtcDateTime), r.Model))
                .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
                .Select(g => new DayModelSpend(g.Key.Day, g.Key.Model, g.LongCount(), g.Sum(r => r.CostUsd)))
                .ToList();
            return Task.FromResult(days);
        }
    }

    private static List<NamedSpend> Top(List<LedgerRecord> rows, Func<LedgerRecord, string> key, int top) =>
        rows.GroupBy(key, StringComparer.Ordinal).Select(g => new NamedSpend(g.Key, g.LongCount(), g.Sum(r => r.CostUsd)))
            .OrderByDescending(s => s.CostUsd).ThenBy(s => s.Name, StringComparer.Ordinal).Take(top).ToList();

    /// <summary>A continuous percentile (linear interpolation), as PostgreSQL's <c>percentile_cont</c>.</summary>
    private static double? Percentile(List<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        var rank = fraction * (values.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = Math.Min(low + 1, values.Count - 1);
        return values[low] + ((values[high] - values[low]) * (rank - low));
    }

    private static bool Matches(LedgerRecord r, CallLogQuery q) =>
        (q.TenantId is null || r.TenantId == q.TenantId)
        && (q.RequestId is null || r.RequestId == q.RequestId)
        && (q.From is null || r.CompletedAt >= q.From)
        && (q.To is null || r.CompletedAt < q.To)
        && (q.Model is null || r.Model == q.Model)
        && (q.Provider is null || r.Provider == q.Provider)
        && (q.Action is null || r.Action == q.Action)
        && (q.Tag is null || r.Tags.Contains(q.Tag))
        && (q.RunId is null || r.RunId == q.RunId)
        && (q.Success is null || r.Success == q.Success)
        && (q.ProjectId is null || r.ProjectId == q.ProjectId)
        && (q.KeyId is null || r.KeyId == q.KeyId)
        && (q.EndUser is null || r.EndUser == q.EndUser)
        && (q.Before is null || r.CompletedAt < q.Before.CompletedAt
            || (r.CompletedAt == q.Before.CompletedAt && string.CompareOrdinal(r.RequestId, q.Before.RequestId) < 0));
}
