namespace Orleans.LlmRouter.Contracts;

/// <summary>Rate-limit capacity leased to one silo until <see cref="ExpiresAt"/> (the end of the current minute).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RateLease")]
public sealed record RateLease(
    [property: Id(0)] int Requests,
    [property: Id(1)] long Tokens,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] ProviderSnapshot Snapshot);
