using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Orleans.LlmRouter.Ledger;

/// <summary>What the ledger does when PostgreSQL cannot take a write.</summary>
public enum LedgerOutageMode
{
    /// <summary>Write the records to a local append-only spool file (flushed to disk) and replay them later. Calls go on.</summary>
    Spool,

    /// <summary>Fail the settle: the caller gets an error instead of a response, and nothing is delivered unbilled.</summary>
    FailClosed,
}

/// <summary>Settings of <see cref="PostgresLedger"/>.</summary>
public sealed record PostgresLedgerOptions(string ConnectionString)
{
    public LedgerOutageMode OutageMode { get; init; } = LedgerOutageMode.Spool;

    /// <summary>Where spooled records wait for PostgreSQL (one file per process).</summary>
    public string SpoolDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "llmrouter-spool");

    /// <summary>Most records in one group commit.</summary>
    public int MaxBatch { get; init; } = 512;

    public TimeSpan ReplayInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>The ledger could not make a record durable (fail-closed mode, or the spool failed too).</summary>
public sealed class LedgerUnavailableException : Exception
{
    public LedgerUnavailableException()
    {
    }

    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The ledger on PostgreSQL (table <c>llm_calls</c>, see deploy/sql). Appends are group-committed: a single writer
/// drains every waiting record into one <c>INSERT … SELECT FROM unnest(…)</c> round-trip with
/// <c>ON CONFLICT (request_id) DO NOTHING RETURNING request_id</c>, so a request id is billed once. When PostgreSQL is
/// down the batch goes to a local spool file (fsynced) and is replayed in the background, or the append fails
/// (<see cref="LedgerOutageMode"/>). Spooled records are included in catch-up reads.
/// </summary>
public sealed partial class PostgresLedger : ILedger, IAsyncDisposable
{
    private const string Columns = "request_id, tenant_id, tenant_seq, run_id, tags, action, strategy, provider, model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, success, error_class, attempts, started_at, completed_at";

    private readonly NpgsqlDataSource _source;
    private readonly PostgresLedgerOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _spoolLock = new(1, 1);
    private readonly string _spoolFile;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private readonly Task _replayer;

    public PostgresLedger(PostgresLedgerOptions options, ILogger<PostgresLedger> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        // Group commit needs one connection at a time; a few more serve catch-up reads and reports.
        var pooled = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        pooled.MaxPoolSize = Math.Min(pooled.MaxPoolSize, 8);
        // The group-commit INSERT is the same statement every time: prepared once per connection, PostgreSQL stops
        // parsing and planning it for every batch.
        if (pooled.MaxAutoPrepare == 0)
        {
            pooled.MaxAutoPrepare = 16;
        }

        _source = NpgsqlDataSource.Create(pooled.ConnectionString);
        Directory.CreateDirectory(options.SpoolDirectory);
        _spoolFile = Path.Combine(options.SpoolDirectory, $"ledger-spool-{Environment.ProcessId}-{Guid.NewGuid():N}.ndjson");
        AdoptOrphanSpools();
        _writer = Task.Run(WriteLoopAsync);
        _replayer = Task.Run(ReplayLoopAsync);
    }

    /// <summary>Records waiting in the spool for PostgreSQL.</summary>
    public int SpooledCount => ReadSpool().Count;

    public ValueTask<bool> AppendAsync(LedgerRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var pending = new Pending(record);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new LedgerUnavailableException("The ledger is shutting down.");
        }

        return new ValueTask<bool>(pending.Done.Task);
    }

    public async IAsyncEnumerable<LedgerRecord> ReadAfterAsync(string tenantId, long afterTenantSeq, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<LedgerRecord>();
        await using (var cmd = _source.CreateCommand($"SELECT {Columns} FROM llm_calls WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq"))
        {
            cmd.Parameters.AddWithValue(tenantId);
            cmd.Parameters.AddWithValue(afterTenantSeq);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = Read(reader);
                seen.Add(row.RequestId);
                rows.Add(row);
            }
        }

        rows.AddRange(ReadSpool().Where(r => r.TenantId == tenantId && r.TenantSeq > afterTenantSeq && seen.Add(r.RequestId)));
        foreach (var row in rows.OrderBy(r => r.TenantSeq))
        {
            yield return row;
        }
    }

    public async IAsyncEnumerable<LedgerRecord> QueryAsync(UsageQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var cmd = _source.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM llm_calls WHERE {Where(cmd, query)} ORDER BY completed_at, tenant_seq";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    public async Task<UsageReport> ReportAsync(UsageQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var cmd = _source.CreateCommand();
        cmd.CommandText = $"""
            SELECT (completed_at AT TIME ZONE 'UTC')::date AS day, count(*), count(*) FILTER (WHERE NOT success),
                   coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0)
            FROM llm_calls WHERE {Where(cmd, query)} GROUP BY 1 ORDER BY 1
            """;
        var days = new List<UsageDay>();
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                days.Add(new UsageDay(
                    DateOnly.FromDateTime(reader.GetDateTime(0)),
                    new UsageTotals(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetDecimal(6))));
            }
        }

        var totals = days.Aggregate(UsageTotals.Empty, (a, d) => new UsageTotals(
            a.Calls + d.Totals.Calls, a.FailedCalls + d.Totals.FailedCalls, a.PromptTokens + d.Totals.PromptTokens,
            a.CompletionTokens + d.Totals.CompletionTokens, a.CachedTokens + d.Totals.CachedTokens, a.CostUsd + d.Totals.CostUsd));
        return new UsageReport(query, totals, days);
    }

    public async Task<bool> IsReachableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var cmd = _source.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Replays the spool now (also runs in the background). Returns how many records were replayed.</summary>
    public async Task<int> ReplaySpoolAsync(CancellationToken cancellationToken = default)
    {
        await _spoolLock.WaitAsync(cancellationToken);
        try
        {
            var records = ReadSpool();
            if (records.Count == 0)
            {
                return 0;
            }

            foreach (var chunk in records.Chunk(_options.MaxBatch))
            {
                await InsertAsync(chunk, cancellationToken);
            }

            foreach (var file in SpoolFiles())
            {
                File.Delete(file);
            }

            LogReplayed(_logger, records.Count);
            return records.Count;
        }
        finally
        {
            _spoolLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        await _stop.CancelAsync();
        try
        {
            await _replayer;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _spoolLock.Dispose();
        await _source.DisposeAsync();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(_options.MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var p))
            {
                batch.Add(p);
            }

            await CommitAsync(batch);
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        // Within one batch a request id can appear twice: the first wins, like in the table.
        var first = batch.GroupBy(p => p.Record.RequestId, StringComparer.Ordinal).Select(g => g.First()).ToList();
        try
        {
            var inserted = await InsertAsync(first.Select(p => p.Record).ToList(), CancellationToken.None);
            foreach (var p in batch)
            {
                p.Done.TrySetResult(inserted.Remove(p.Record.RequestId));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
        {
            LogWriteFailed(_logger, batch.Count, _options.OutageMode.ToString(), ex);
            if (_options.OutageMode == LedgerOutageMode.FailClosed)
            {
                var error = new LedgerUnavailableException("The usage ledger is unavailable; the call was not billed and its response is withheld.", ex);
                batch.ForEach(p => p.Done.TrySetException(error));
                return;
            }

            try
            {
                await SpoolAsync(first.Select(p => p.Record));
                batch.ForEach(p => p.Done.TrySetResult(first.Contains(p)));
            }
            catch (IOException spoolError)
            {
                var error = new LedgerUnavailableException("The usage ledger and its spool are unavailable.", spoolError);
                batch.ForEach(p => p.Done.TrySetException(error));
            }
        }
    }

    private async Task<HashSet<string>> InsertAsync(IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        if (records.Count == 0)
        {
            return inserted;
        }

        await using var cmd = _source.CreateCommand($"""
            INSERT INTO llm_calls ({Columns})
            SELECT r, t, s, run, string_to_array(tg, E'\x1f'), a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::numeric[], $15::float8[], $16::float8[],
                        $17::bool[], $18::text[], $19::int[], $20::timestamptz[], $21::timestamptz[])
                 AS u(r, t, s, run, tg, a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca)
            ON CONFLICT (request_id) DO NOTHING
            RETURNING request_id
            """);
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.RequestId));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.TenantId));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.TenantSeq));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.RunId));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => string.Join('\x1f', r.Tags)));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Action));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Strategy));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Provider));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Model));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.PromptTokens));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.CompletionTokens));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.CachedTokens));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.ReasoningTokens));
        Add(cmd, NpgsqlDbType.Numeric, records.Select(r => r.CostUsd));
        Add(cmd, NpgsqlDbType.Double, records.Select(r => r.LatencyMs));
        Add(cmd, NpgsqlDbType.Double, records.Select(r => r.TimeToFirstTokenMs));
        Add(cmd, NpgsqlDbType.Boolean, records.Select(r => r.Success));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.ErrorClass));
        Add(cmd, NpgsqlDbType.Integer, records.Select(r => r.Attempts));
        Add(cmd, NpgsqlDbType.TimestampTz, records.Select(r => r.StartedAt.UtcDateTime));
        Add(cmd, NpgsqlDbType.TimestampTz, records.Select(r => r.CompletedAt.UtcDateTime));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            inserted.Add(reader.GetString(0));
        }

        return inserted;
    }

    private static void Add<T>(NpgsqlCommand cmd, NpgsqlDbType type, IEnumerable<T> values) =>
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type, Value = values.ToArray() });

    private static string Where(NpgsqlCommand cmd, UsageQuery q)
    {
        var sb = new StringBuilder("tenant_id = @tenant");
        cmd.Parameters.AddWithValue("tenant", q.TenantId);
        if (q.From is { } from)
        {
            sb.Append(" AND completed_at >= @from");
            cmd.Parameters.AddWithValue("from", from.UtcDateTime);
        }

        if (q.To is { } to)
        {
            sb.Append(" AND completed_at < @to");
            cmd.Parameters.AddWithValue("to", to.UtcDateTime);
        }

        if (q.Model is { } model)
        {
            sb.Append(" AND model = @model");
            cmd.Parameters.AddWithValue("model", model);
        }

        if (q.Provider is { } provider)
        {
            sb.Append(" AND provider = @provider");
            cmd.Parameters.AddWithValue("provider", provider);
        }

        if (q.Action is { } action)
        {
            sb.Append(" AND action = @action");
            cmd.Parameters.AddWithValue("action", action);
        }

        if (q.Tag is { } tag)
        {
            sb.Append(" AND tags @> ARRAY[@tag]::text[]");
            cmd.Parameters.AddWithValue("tag", tag);
        }

        return sb.ToString();
    }

    private static LedgerRecord Read(NpgsqlDataReader r) => new()
    {
        RequestId = r.GetString(0),
        TenantId = r.GetString(1),
        TenantSeq = r.GetInt64(2),
        RunId = r.IsDBNull(3) ? null : r.GetString(3),
        Tags = r.IsDBNull(4) ? [] : r.GetFieldValue<string[]>(4),
        Action = r.IsDBNull(5) ? null : r.GetString(5),
        Strategy = r.IsDBNull(6) ? null : r.GetString(6),
        Provider = r.GetString(7),
        Model = r.GetString(8),
        PromptTokens = r.GetInt64(9),
        CompletionTokens = r.GetInt64(10),
        CachedTokens = r.GetInt64(11),
        ReasoningTokens = r.GetInt64(12),
        CostUsd = r.GetDecimal(13),
        LatencyMs = r.GetDouble(14),
        TimeToFirstTokenMs = r.IsDBNull(15) ? null : r.GetDouble(15),
        Success = r.GetBoolean(16),
        ErrorClass = r.IsDBNull(17) ? null : r.GetString(17),
        Attempts = r.GetInt32(18),
        StartedAt = new DateTimeOffset(r.GetDateTime(19), TimeSpan.Zero),
        CompletedAt = new DateTimeOffset(r.GetDateTime(20), TimeSpan.Zero),
    };

    private async Task SpoolAsync(IEnumerable<LedgerRecord> records)
    {
        await _spoolLock.WaitAsync();
        try
        {
            await using var stream = new FileStream(_spoolFile, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, FileOptions.WriteThrough);
            foreach (var record in records)
            {
                var line = JsonSerializer.SerializeToUtf8Bytes(record, LedgerJson.Default.LedgerRecord);
                await stream.WriteAsync(line);
                stream.WriteByte((byte)'\n');
            }

            await stream.FlushAsync();
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            _spoolLock.Release();
        }
    }

    private List<LedgerRecord> ReadSpool()
    {
        var records = new List<LedgerRecord>();
        foreach (var file in SpoolFiles())
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.Length > 0 && JsonSerializer.Deserialize(line, LedgerJson.Default.LedgerRecord) is { } record)
                {
                    records.Add(record);
                }
            }
        }

        return records;
    }

    private List<string> SpoolFiles() =>
        Directory.Exists(_options.SpoolDirectory)
            ? Directory.EnumerateFiles(_options.SpoolDirectory, "ledger-spool-*.ndjson").Where(f => f == _spoolFile || f.EndsWith(".adopted.ndjson", StringComparison.Ordinal)).ToList()
            : [];

    /// <summary>Spool files left by a process that died are taken over, so their records are replayed too.</summary>
    private void AdoptOrphanSpools()
    {
        foreach (var file in Directory.EnumerateFiles(_options.SpoolDirectory, "ledger-spool-*.ndjson").Where(f => !f.EndsWith(".adopted.ndjson", StringComparison.Ordinal)).ToList())
        {
            var parts = Path.GetFileName(file).Split('-');
            if (parts.Length > 2 && int.TryParse(parts[2], CultureInfo.InvariantCulture, out var pid) && IsAlive(pid))
            {
                continue; // a live process still owns it
            }

            try
            {
                File.Move(file, Path.ChangeExtension(file, null) + "." + Guid.NewGuid().ToString("N") + ".adopted.ndjson");
            }
            catch (IOException)
            {
                // Another process adopted it first.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private async Task ReplayLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(_options.ReplayInterval, _stop.Token);
            try
            {
                await ReplaySpoolAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
            {
                LogReplayFailed(_logger, ex.Message);
            }
        }
    }

    private sealed class Pending(LedgerRecord record)
    {
        public LedgerRecord Record { get; } = record;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Ledger: writing {Count} records to PostgreSQL failed; outage mode {Mode}")]
    private static partial void LogWriteFailed(ILogger logger, int count, string mode, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger: replayed {Count} spooled records into PostgreSQL")]
    private static partial void LogReplayed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger: spool replay failed ({Reason}); will retry")]
    private static partial void LogReplayFailed(ILogger logger, string reason);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(LedgerRecord))]
internal sealed partial class LedgerJson : System.Text.Json.Serialization.JsonSerializerContext;
