using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.Serialization;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// Reads and writes stored answers for the cache, never failing a request: a store that cannot be read is a miss, one
/// that cannot be written keeps nothing (logged, once a minute at most). After a failure the store is left alone for
/// <see cref="PauseAfterFailure"/>, so an outage costs requests no connection timeouts. An entry older than its TTL, or
/// than the caller's <c>max-age</c>, is never returned. With <see cref="ResponseCacheOptions.LocalCopy"/> the silo keeps a
/// copy of each answer it read or stored and serves it without asking the store, for that long at most (and never past
/// the answer's TTL).
/// </summary>
internal sealed partial class ResponseCacheStorage(IResponseCacheStore store, Serializer<CachedAnswer> serializer, RouterClock clock, IOptions<ResponseCacheOptions> options, ILogger<ResponseCacheStorage> logger)
{
    /// <summary>How long the store is not tried after it failed.</summary>
    internal static readonly TimeSpan PauseAfterFailure = TimeSpan.FromSeconds(5);

    private long _lastWarning = long.MinValue;
    private long _pausedUntil = long.MinValue; // UTC ticks on the router clock

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Ns, string Key), (CacheEntry Entry, DateTimeOffset Until)> _copies = new();

    private bool Paused => clock.Time.GetUtcNow().UtcTicks < Interlocked.Read(ref _pausedUntil);

    public async Task<CachedAnswer?> ReadAsync(CacheArgs args)
    {
        var now = clock.Time.GetUtcNow();
        var entry = LocalCopy(args.Namespace, args.Key, now);
        if (entry is null && Paused)
        {
            return null;
        }

        try
        {
            if (entry is null && await store.GetAsync(args.Namespace, args.Key, now) is { } stored)
            {
                entry = stored;
                KeepCopy(stored, now);
            }

            if (entry is null || (args.MaxAge is { } maxAge && now - entry.CreatedAt > maxAge))
            {
                return null;
            }

            return entry.Answer;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Warn("read", ex);
            return null;
        }
    }

    public async Task WriteAsync(CacheArgs args, CachedAnswer answer)
    {
        var size = serializer.SerializeToArray(answer).Length;
        if (size > options.Value.MaxEntryBytes || Paused)
        {
            return;
        }

        var now = clock.Time.GetUtcNow();
        try
        {
            var entry = new CacheEntry(args.Namespace, args.Key, answer, size, now, now + args.Ttl);
            await store.PutAsync(entry, args.MaxBytes, now);
            KeepCopy(entry, now);
            if (args is { Vector: { } vector, Scope: { } scope })
            {
                await store.PutVectorAsync(args.Namespace, args.Key, scope, vector, args.MaxVectors, now);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Warn("written", ex);
        }
    }

    /// <summary>The key of the nearest stored answer of the request's scope at or above <paramref name="threshold"/>; null for none, or when the store fails.</summary>
    public async Task<string?> NearestAsync(string ns, string scope, float[] vector, double threshold)
    {
        if (Paused)
        {
            return null;
        }

        try
        {
            return await store.NearestAsync(ns, scope, vector, threshold);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Warn("searched", ex);
            return null;
        }
    }

    /// <summary>Drops this silo's copies of a namespace's answers (a purge; other silos' copies lapse by themselves).</summary>
    public void DropCopies(string ns)
    {
        foreach (var key in _copies.Keys.Where(k => k.Ns == ns))
        {
            _copies.TryRemove(key, out _);
        }
    }

    private CacheEntry? LocalCopy(string ns, string key, DateTimeOffset now)
    {
        if (!_copies.TryGetValue((ns, key), out var copy))
        {
            return null;
        }

        if (now < copy.Until)
        {
            return copy.Entry;
        }

        _copies.TryRemove((ns, key), out _);
        return null;
    }

    private void KeepCopy(CacheEntry entry, DateTimeOffset now)
    {
        var o = options.Value;
        if (o.LocalCopy <= TimeSpan.Zero)
        {
            return;
        }

        if (_copies.Count >= o.MaxLocalCopies)
        {
            _copies.Clear();
        }

        var until = now + o.LocalCopy;
        _copies[(entry.Namespace, entry.Key)] = (entry, until < entry.ExpiresAt ? until : entry.ExpiresAt);
    }

    private void Warn(string what, Exception ex)
    {
        Interlocked.Exchange(ref _pausedUntil, (clock.Time.GetUtcNow() + PauseAfterFailure).UtcTicks);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastWarning);
        if (now - last >= 60_000 && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            LogStoreFailed(logger, what, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The response cache could not be {What} ({Error}); requests are served as misses meanwhile")]
    private static partial void LogStoreFailed(ILogger logger, string what, string error);
}
