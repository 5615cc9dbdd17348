namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// A tenant's or an action's response-cache settings (YAML <c>cache:</c>). Null fields take the value of the level above
/// (action, then tenant, then the gateway's <c>LlmRouter:Cache</c> options).
/// </summary>
internal sealed record CacheSettings
{
    /// <summary>
    /// True: the cacheable requests of the tenant (or routed through the action) are cached without asking. False on a
    /// tenant: nothing of the tenant is cached, even when a request asks. Null: requests are cached only when they ask.
    /// </summary>
    public bool? Enabled { get; init; }

    /// <summary>How long a stored answer stays; null for the level above's.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>The most bytes of stored answers the tenant keeps (least recently used go first); null for the gateway's.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>A namespace shared with the other tenants that name it (they may be answered from each other's calls); null for the tenant's own.</summary>
    public string? Namespace { get; init; }

    /// <summary>What a hit costs the caller in USD (recorded and counted against its budgets); null for nothing.</summary>
    public decimal? HitPriceUsd { get; init; }

    /// <summary>
    /// True: every request is cacheable, not only deterministic ones (temperature 0 or a seed). Null for the level above's.
    /// </summary>
    public bool? AnyRequest { get; init; }

    /// <summary>The tenant's semantic cache (YAML <c>semantic:</c>): near-duplicate requests answered from stored answers; null for exact matches only.</summary>
    public SemanticCacheSettings? Semantic { get; init; }
}

/// <summary>
/// A tenant's semantic cache: a request without an exact stored answer is embedded with <see cref="Model"/> (a catalog
/// embedding model; the call is billed like any embedding call) and answered from the stored answer of the nearest
/// earlier request with the same route and parameters whose cosine similarity is at least <see cref="Threshold"/>.
/// The tenant keeps the vectors of its <see cref="MaxEntries"/> latest stored answers.
/// </summary>
internal sealed record SemanticCacheSettings(string Model, double Threshold, int MaxEntries, int? Dimensions);
