using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// One per cached request fingerprint (key: <c>&lt;namespace&gt;/&lt;fingerprint&gt;</c>): the single place in the
/// cluster where identical requests meet. The first one without a stored answer makes the upstream call (on this
/// grain's silo) and every identical request arriving while it runs shares it; the answer is stored for the next ones.
/// </summary>
[Alias("llmrouter.IResponseCacheGrain")]
internal interface IResponseCacheGrain : IGrainWithStringKey
{
    /// <summary>
    /// The answer of a non-streamed request: stored (<see cref="CacheStatus.Hit"/>), shared with an identical request
    /// in flight (<see cref="CacheStatus.Coalesced"/>), or this request's own upstream call (<see cref="CacheStatus.Miss"/>).
    /// </summary>
    [Alias("complete"), ResponseTimeout("00:10:00")]
    Task<CacheResult> CompleteAsync(ChatRequest request, RouterContext context, CacheArgs args, CancellationToken cancellationToken = default);

    /// <summary>Joins (or starts) the streamed flight of the request; read it with <see cref="ReadAsync"/>.</summary>
    [Alias("open")]
    Task<StreamTicket> OpenAsync(ChatRequest request, RouterContext context, CacheArgs args);

    /// <summary>
    /// The items of flight <paramref name="flight"/> from index <paramref name="from"/>: waits until there is at least one
    /// or the flight ended (a few seconds at most; an empty, unfinished batch means ask again).
    /// </summary>
    [Alias("read"), ResponseTimeout("00:01:00")]
    Task<StreamBatch> ReadAsync(long flight, int from, CancellationToken cancellationToken = default);

    /// <summary>Leaves a flight before its end (the caller went away); the last reader to leave cancels the upstream call.</summary>
    [Alias("leave")]
    Task LeaveAsync(long flight);
}

/// <summary>Where a request's answer is stored and for how long, as the caller's silo decided it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CacheArgs")]
internal sealed record CacheArgs(
    [property: Id(0)] string Namespace,
    [property: Id(1)] string Key,
    [property: Id(2)] bool Lookup,
    [property: Id(3)] TimeSpan Ttl,
    [property: Id(4)] TimeSpan? MaxAge,
    [property: Id(5)] long MaxBytes)
{
    /// <summary>The request's embedding (unit length), kept with its answer for the semantic cache; null without one.</summary>
    [Id(6)] public float[]? Vector { get; init; }

    /// <summary>The fingerprint of the request's route and parameters without its messages: semantic matches stay within it.</summary>
    [Id(7)] public string? Scope { get; init; }

    /// <summary>How many vectors the namespace keeps.</summary>
    [Id(8)] public int MaxVectors { get; init; }
}

/// <summary>
/// A non-streamed answer and how the cache served it; <see cref="CacheStatus.Bypass"/> (no answer) when the shared call
/// was refused for the budget or limits of the request that made it, so this one must try on its own.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CacheResult")]
internal sealed record CacheResult([property: Id(0)] string Status, [property: Id(1)] ChatCompletion? Completion);

/// <summary>A reader's place in a streamed flight, or the stored items of a hit.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.StreamTicket")]
internal sealed record StreamTicket([property: Id(0)] string Status, [property: Id(1)] long Flight, [property: Id(2)] IReadOnlyList<ChatStreamItem>? Stored);

/// <summary>Items of a streamed flight from the index asked for; <see cref="Done"/> on the batch that ends it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.StreamBatch")]
internal sealed record StreamBatch([property: Id(0)] IReadOnlyList<ChatStreamItem> Items, [property: Id(1)] bool Done);
