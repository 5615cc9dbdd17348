using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>A stored answer: the completion of a non-streamed request, or every item of a streamed one, in order.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CachedAnswer")]
internal sealed record CachedAnswer
{
    [Id(0)] public ChatCompletion? Completion { get; init; }

    [Id(1)] public IReadOnlyList<ChatStreamItem>? Items { get; init; }

    /// <summary>What the upstream call that produced the answer cost, in USD (what a hit saves).</summary>
    public decimal UpstreamCostUsd => Completion?.CostUsd ?? Items?.LastOrDefault(i => i.CostUsd is not null)?.CostUsd ?? 0m;
}

/// <summary>One stored answer with its place (namespace and fingerprint), size and lifetime.</summary>
internal sealed record CacheEntry(string Namespace, string Key, CachedAnswer Answer, int SizeBytes, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Where stored answers live: in memory (embedded) or on PostgreSQL (durable). A namespace is kept under its size cap by
/// evicting its least recently used entries; an expired entry is never returned. Failures surface as exceptions, which
/// the cache turns into misses.
/// </summary>
internal interface IResponseCacheStore
{
    /// <summary>The entry of <paramref name="key"/> in <paramref name="ns"/> unexpired at <paramref name="now"/>, marked as used; null for none.</summary>
    Task<CacheEntry?> GetAsync(string ns, string key, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Stores (or replaces) an entry, then evicts the namespace's least recently used entries beyond <paramref name="maxBytes"/>.</summary>
    Task PutAsync(CacheEntry entry, long maxBytes, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Removes every entry of a namespace; returns how many there were.</summary>
    Task<int> PurgeAsync(string ns, CancellationToken cancellationToken = default);

    /// <summary>How many entries and bytes a namespace holds now.</summary>
    Task<(int Entries, long Bytes)> SizeAsync(string ns, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps the embedding (unit length) of the request whose answer is stored under <paramref name="key"/>, for the
    /// semantic cache; a namespace keeps the vectors of its <paramref name="maxEntries"/> latest answers.
    /// </summary>
    Task PutVectorAsync(string ns, string key, string scope, float[] vector, int maxEntries, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// The key of the stored answer whose request is nearest to <paramref name="vector"/> (unit length) among those of
    /// <paramref name="scope"/> (same route and parameters), when its cosine similarity is at least <paramref name="threshold"/>; null otherwise.
    /// </summary>
    Task<string?> NearestAsync(string ns, string scope, float[] vector, double threshold, CancellationToken cancellationToken = default);
}
