namespace Orleans.LlmRouter.Contracts;

/// <summary>A tenant key as stored: its hash only, plus an id and a short prefix to recognise it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TenantKeyInfo")]
public sealed record TenantKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Prefix,
    [property: Id(2)] string Hash,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? RevokedAt);
