namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// What the caller asks of the response cache for one request (<c>X-LlmRouter-Cache</c>, <c>Cache-Control</c>,
/// <c>X-LlmRouter-Cache-Ttl</c> on HTTP). Null on <see cref="RouterContext.Cache"/> means <see cref="CacheMode.Default"/>:
/// the tenant's and the action's settings decide.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CacheDirective")]
public sealed record CacheDirective
{
    /// <summary>How the request uses the cache.</summary>
    [Id(0)] public CacheMode Mode { get; init; }

    /// <summary>How long an answer stored by this request stays (1 s to 7 days); null for the tenant's or action's TTL.</summary>
    [Id(1)] public int? TtlSeconds { get; init; }

    /// <summary>The oldest stored answer, in seconds, the caller accepts (<c>Cache-Control: max-age</c>); null for any within its TTL.</summary>
    [Id(2)] public int? MaxAgeSeconds { get; init; }

    /// <summary>The longest TTL a request may ask for: seven days.</summary>
    public const int MaxTtlSeconds = 7 * 24 * 3600;
}

/// <summary>How one request uses the response cache.</summary>
public enum CacheMode
{
    /// <summary>The tenant's and action's settings decide; only requests the cacheable rule admits are cached.</summary>
    Default = 0,

    /// <summary>Look up and store this request even when the cacheable rule would not (the caller opts in).</summary>
    Use = 1,

    /// <summary>Do not answer from the cache: call upstream and store the new answer (<c>Cache-Control: no-cache</c>).</summary>
    Refresh = 2,

    /// <summary>Neither look up nor store (<c>X-LlmRouter-Cache: skip</c>, <c>Cache-Control: no-store</c>).</summary>
    Skip = 3,
}

/// <summary>How the response cache served a request (<c>X-LlmRouter-Cache</c> on the answer).</summary>
public static class CacheStatus
{
    /// <summary>Answered from a stored answer; no upstream call.</summary>
    public const string Hit = "hit";

    /// <summary>Looked up, not found: the request called upstream (and stored the answer).</summary>
    public const string Miss = "miss";

    /// <summary>Shared the upstream call of an identical request in flight at the same time.</summary>
    public const string Coalesced = "coalesced";

    /// <summary>The cache was not used for this request.</summary>
    public const string Bypass = "bypass";
}
