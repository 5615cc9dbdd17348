namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// A bounded page of the ledger, newest first, for browsing calls (the console's call log): every filter optional,
/// across tenants when <see cref="TenantId"/> is null (and below a tenant by project, key and end user), the range [From, To), and a keyset cursor (<see cref="Before"/>)
/// instead of an offset so that a page costs the same at row ten million as at row ten.
/// </summary>
internal sealed record CallLogQuery
{
    /// <summary>The largest page served.</summary>
    public const int MaxLimit = 1000;

    public string? TenantId { get; init; }

    public string? RequestId { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Action { get; init; }

    public string? Tag { get; init; }

    public string? RunId { get; init; }

    public bool? Success { get; init; }

    /// <summary>The project the call was made under (<see cref="LedgerRecord.ProjectId"/>).</summary>
    public string? ProjectId { get; init; }

    /// <summary>The id of the tenant key that authenticated the call (<see cref="LedgerRecord.KeyId"/>).</summary>
    public string? KeyId { get; init; }

    /// <summary>The end user the call was made for (<see cref="LedgerRecord.EndUser"/>).</summary>
    public string? EndUser { get; init; }

    /// <summary>Rows strictly older than this position (the last row of the previous page); null for the first page.</summary>
    public CallCursor? Before { get; init; }

    /// <summary>Rows per page, clamped to 1..<see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 50;

    public int ClampedLimit => Math.Clamp(Limit, 1, MaxLimit);
}

/// <summary>A position in the ledger's newest-first order: completion time, then request id.</summary>
internal sealed record CallCursor(DateTimeOffset CompletedAt, string RequestId)
{
    public static CallCursor Of(LedgerRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new(record.CompletedAt, record.RequestId);
    }
}
