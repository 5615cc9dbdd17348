namespace Orleans.LlmRouter.Ledger;

/// <summary>What an overview asks of the ledger: the range [From, To), the width of a chart bucket, an optional tenant.</summary>
internal sealed record LedgerStatsQuery(DateTimeOffset From, DateTimeOffset To, TimeSpan Bucket)
{
    public string? TenantId { get; init; }

    /// <summary>How many top tenants and models to return.</summary>
    public int Top { get; init; } = 5;
}

/// <summary>Aggregates of the ledger over a range, computed by the store (never by reading rows into the process).</summary>
internal sealed record LedgerStats(
    long Calls,
    long FailedCalls,
    decimal CostUsd,
    double? LatencyP50Ms,
    double? LatencyP95Ms,
    double? TtftP50Ms,
    double? TtftP95Ms,
    IReadOnlyList<StatsBucket> Buckets,
    IReadOnlyList<NamedCount> ErrorsByClass,
    IReadOnlyList<NamedSpend> TopTenants,
    IReadOnlyList<NamedSpend> TopModels);

/// <summary>One chart bucket: calls completed in [Start, Start + bucket).</summary>
internal sealed record StatsBucket(DateTimeOffset Start, long Calls, long FailedCalls, decimal CostUsd);

/// <summary>A count by name (e.g. failed calls by error class).</summary>
internal sealed record NamedCount(string Name, long Count);

/// <summary>Calls and spend by name (a tenant, a model).</summary>
internal sealed record NamedSpend(string Name, long Calls, decimal CostUsd);

/// <summary>Spend of one day and one model (a tenant's stacked chart).</summary>
internal sealed record DayModelSpend(DateOnly Day, string Model, long Calls, decimal CostUsd);
