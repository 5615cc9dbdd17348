namespace Orleans.LlmRouter.Contracts;

/// <summary>A tenant key as stored: its hash only, plus an id and a short prefix to recognise it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantKeyInfo")]
public sealed record TenantKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Prefix,
    [property: Id(2)] string Hash,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? RevokedAt)
{
    /// <summary>The key's project, label, expiry, budgets and limits.</summary>
    [Id(5)] public KeySettings Settings { get; init; } = new();

    /// <summary>The hash of the key's secret before its last rotation, accepted until <see cref="PreviousValidUntil"/>; null for none.</summary>
    [Id(6)] public string? PreviousHash { get; init; }

    /// <summary>Until when the secret before the last rotation still works.</summary>
    [Id(7)] public DateTimeOffset? PreviousValidUntil { get; init; }
}
