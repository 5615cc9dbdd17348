namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>The response cache of an embedded gateway: per namespace, a dictionary and a least-recently-used list under one lock.</summary>
internal sealed class InMemoryResponseCacheStore : IResponseCacheStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Space> _spaces = new(StringComparer.Ordinal);

    public Task<CacheEntry?> GetAsync(string ns, string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (!_spaces.TryGetValue(ns, out var space))
        {
            return Task.FromResult<CacheEntry?>(null);
        }

        lock (space)
        {
            if (!space.Entries.TryGetValue(key, out var node))
            {
                return Task.FromResult<CacheEntry?>(null);
            }

            if (node.Value.ExpiresAt <= now)
            {
                space.Remove(node);
                return Task.FromResult<CacheEntry?>(null);
            }

            space.Lru.Remove(node);
            space.Lru.AddFirst(node);
            return Task.FromResult<CacheEntry?>(node.Value);
        }
    }

    public Task PutAsync(CacheEntry entry, long maxBytes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var space = _spaces.GetOrAdd(entry.Namespace, static _ => new Space());
        lock (space)
        {
            if (space.Entries.TryGetValue(entry.Key, out var old))
            {
                space.Remove(old);
            }

            var node = space.Lru.AddFirst(entry);
            space.Entries[entry.Key] = node;
            space.Bytes += entry.SizeBytes;
            while (space.Bytes > maxBytes && space.Lru.Last is { } last)
            {
                space.Remove(last);
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> PurgeAsync(string ns, CancellationToken cancellationToken = default)
    {
        if (!_spaces.TryRemove(ns, out var space))
        {
            return Task.FromResult(0);
        }

        lock (space)
        {
            return Task.FromResult(space.Entries.Count);
        }
    }

    public Task<(int Entries, long Bytes)> SizeAsync(string ns, CancellationToken cancellationToken = default)
    {
        if (!_spaces.TryGetValue(ns, out var space))
        {
            return Task.FromResult((0, 0L));
        }

        lock (space)
        {
            return Task.FromResult((space.Entries.Count, space.Bytes));
        }
    }

    public Task PutVectorAsync(string ns, string key, string scope, float[] vector, int maxEntries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var space = _spaces.GetOrAdd(ns, static _ => new Space());
        lock (space)
        {
            space.Vectors.RemoveAll(v => v.Key == key);
            space.Vectors.Add((key, scope, vector));
            if (space.Vectors.Count > maxEntries)
            {
                space.Vectors.RemoveRange(0, space.Vectors.Count - maxEntries);
            }
        }

        return Task.CompletedTask;
    }

    public Task<string?> NearestAsync(string ns, string scope, float[] vector, double threshold, CancellationToken cancellationToken = default)
    {
        if (!_spaces.TryGetValue(ns, out var space))
        {
            return Task.FromResult<string?>(null);
        }

        lock (space)
        {
            string? best = null;
            var bestScore = threshold;
            foreach (var (key, s, v) in space.Vectors)
            {
                if (s == scope && v.Length == vector.Length && Dot(v, vector) is var score && score >= bestScore)
                {
                    (best, bestScore) = (key, score);
                }
            }

            return Task.FromResult(best);
        }
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private sealed class Space
    {
        /// <summary>The vectors of the semantic cache, oldest first.</summary>
        public List<(string Key, string Scope, float[] Vector)> Vectors { get; } = [];

        public Dictionary<string, LinkedListNode<CacheEntry>> Entries { get; } = new(StringComparer.Ordinal);

        public LinkedList<CacheEntry> Lru { get; } = new();

        public long Bytes { get; set; }

        public void Remove(LinkedListNode<CacheEntry> node)
        {
            Lru.Remove(node);
            Entries.Remove(node.Value.Key);
            Bytes -= node.Value.SizeBytes;
        }
    }
}
