namespace Orleans.LlmRouter.Ledger;

/// <summary>Filters of a usage query. All optional but the tenant; the range is [From, To).</summary>
internal sealed record UsageQuery(string TenantId)
{
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Action { get; init; }

    public string? Tag { get; init; }
}
