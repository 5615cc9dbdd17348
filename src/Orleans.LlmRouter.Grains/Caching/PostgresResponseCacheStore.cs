using Npgsql;
using NpgsqlTypes;
using Orleans.Serialization;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// The response cache of a durable gateway: table <c>llm_cache_entries</c> (<c>deploy/sql/018-response-cache.sql</c>),
/// answers stored with Orleans' serializer. A read marks the entry used in the same statement; a store replaces the
/// entry, then deletes the namespace's expired entries and its least recently used beyond the cap.
/// </summary>
internal sealed class PostgresResponseCacheStore : IResponseCacheStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;
    private readonly Serializer<CachedAnswer> _serializer;

    public PostgresResponseCacheStore(string connectionString, Serializer<CachedAnswer> serializer)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, 8);
        _source = NpgsqlDataSource.Create(builder.ConnectionString);
        _serializer = serializer;
    }

    public async Task<CacheEntry?> GetAsync(string ns, string key, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var cmd = _source.CreateCommand("""
            UPDATE llm_cache_entries SET last_used_at = $3
            WHERE namespace = $1 AND key = $2 AND expires_at > $3
            RETURNING body, size_bytes, created_at, expires_at
            """);
        cmd.Parameters.Add(P(ns, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(key, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(now.UtcDateTime, NpgsqlDbType.TimestampTz));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var body = reader.GetFieldValue<byte[]>(0);
        return new CacheEntry(ns, key, _serializer.Deserialize(body)!, reader.GetInt32(1),
            new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero), new DateTimeOffset(reader.GetDateTime(3), TimeSpan.Zero));
    }

    public async Task PutAsync(CacheEntry entry, long maxBytes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var body = _serializer.SerializeToArray(entry.Answer);
        await using var batch = _source.CreateBatch();
        var put = new NpgsqlBatchCommand("""
            INSERT INTO llm_cache_entries (namespace, key, body, size_bytes, created_at, expires_at, last_used_at)
            VALUES ($1, $2, $3, $4, $5, $6, $5)
            ON CONFLICT (namespace, key) DO UPDATE SET body = EXCLUDED.body, size_bytes = EXCLUDED.size_bytes,
                created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, last_used_at = EXCLUDED.last_used_at
            """);
        put.Parameters.Add(P(entry.Namespace, NpgsqlDbType.Text));
        put.Parameters.Add(P(entry.Key, NpgsqlDbType.Text));
        put.Parameters.Add(P(body, NpgsqlDbType.Bytea));
        put.Parameters.Add(P(entry.SizeBytes, NpgsqlDbType.Integer));
        put.Parameters.Add(P(entry.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz));
        put.Parameters.Add(P(entry.ExpiresAt.UtcDateTime, NpgsqlDbType.TimestampTz));
        batch.BatchCommands.Add(put);

        // A second statement of the batch, so it sees the entry just stored: the newest first, whatever passes the cap goes.
        var evict = new NpgsqlBatchCommand("""
            DELETE FROM llm_cache_entries c
            USING (SELECT key FROM (SELECT key, expires_at, sum(size_bytes) OVER (ORDER BY last_used_at DESC, key DESC) AS running
                                    FROM llm_cache_entries WHERE namespace = $1) x
                   WHERE x.running > $2 OR x.expires_at <= $3) v
            WHERE c.namespace = $1 AND c.key = v.key
            """);
        evict.Parameters.Add(P(entry.Namespace, NpgsqlDbType.Text));
        evict.Parameters.Add(P(maxBytes, NpgsqlDbType.Bigint));
        evict.Parameters.Add(P(now.UtcDateTime, NpgsqlDbType.TimestampTz));
        batch.BatchCommands.Add(evict);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> PurgeAsync(string ns, CancellationToken cancellationToken = default)
    {
        await using var batch = _source.CreateBatch();
        var entries = new NpgsqlBatchCommand("DELETE FROM llm_cache_entries WHERE namespace = $1");
        entries.Parameters.Add(P(ns, NpgsqlDbType.Text));
        var vectors = new NpgsqlBatchCommand("DELETE FROM llm_cache_vectors WHERE namespace = $1");
        vectors.Parameters.Add(P(ns, NpgsqlDbType.Text));
        batch.BatchCommands.Add(entries);
        batch.BatchCommands.Add(vectors);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return entries.RecordsAffected;
    }

    public async Task PutVectorAsync(string ns, string key, string scope, float[] vector, int maxEntries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var batch = _source.CreateBatch();
        var put = new NpgsqlBatchCommand("""
            INSERT INTO llm_cache_vectors (namespace, key, scope, vector, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (namespace, key) DO UPDATE SET scope = EXCLUDED.scope, vector = EXCLUDED.vector, created_at = EXCLUDED.created_at
            """);
        put.Parameters.Add(P(ns, NpgsqlDbType.Text));
        put.Parameters.Add(P(key, NpgsqlDbType.Text));
        put.Parameters.Add(P(scope, NpgsqlDbType.Text));
        put.Parameters.Add(P(vector, NpgsqlDbType.Array | NpgsqlDbType.Real));
        put.Parameters.Add(P(now.UtcDateTime, NpgsqlDbType.TimestampTz));
        var bound = new NpgsqlBatchCommand("""
            DELETE FROM llm_cache_vectors c
            USING (SELECT key FROM llm_cache_vectors WHERE namespace = $1 ORDER BY created_at DESC, key DESC OFFSET $2) v
            WHERE c.namespace = $1 AND c.key = v.key
            """);
        bound.Parameters.Add(P(ns, NpgsqlDbType.Text));
        bound.Parameters.Add(P(maxEntries, NpgsqlDbType.Integer));
        batch.BatchCommands.Add(put);
        batch.BatchCommands.Add(bound);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<string?> NearestAsync(string ns, string scope, float[] vector, double threshold, CancellationToken cancellationToken = default)
    {
        // Cosine similarity of unit vectors is their dot product, computed by the database over the namespace's bounded index.
        await using var cmd = _source.CreateCommand("""
            SELECT key FROM (
                SELECT key, (SELECT sum(a * b) FROM unnest(v.vector, $3::real[]) AS t(a, b)) AS score
                FROM llm_cache_vectors v
                WHERE v.namespace = $1 AND v.scope = $2 AND cardinality(v.vector) = cardinality($3::real[])) x
            WHERE score >= $4
            ORDER BY score DESC, key
            LIMIT 1
            """);
        cmd.Parameters.Add(P(ns, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(scope, NpgsqlDbType.Text));
        cmd.Parameters.Add(P(vector, NpgsqlDbType.Array | NpgsqlDbType.Real));
        cmd.Parameters.Add(P(threshold, NpgsqlDbType.Double));
        return await cmd.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<(int Entries, long Bytes)> SizeAsync(string ns, CancellationToken cancellationToken = default)
    {
        await using var cmd = _source.CreateCommand("SELECT count(*)::int, coalesce(sum(size_bytes), 0)::bigint FROM llm_cache_entries WHERE namespace = $1");
        cmd.Parameters.Add(P(ns, NpgsqlDbType.Text));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt64(1));
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    private static NpgsqlParameter P(object value, NpgsqlDbType type) => new() { Value = value, NpgsqlDbType = type };
}
