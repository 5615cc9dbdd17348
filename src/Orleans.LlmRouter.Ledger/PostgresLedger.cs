using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// The ledger on PostgreSQL (table <c>llm_calls</c>, see deploy/sql). Appends are group-committed: a single writer
/// drains every waiting record into one <c>INSERT … SELECT FROM unnest(…)</c> round-trip with
/// <c>ON CONFLICT (request_id) DO NOTHING RETURNING request_id</c>, so a request id is billed once. When PostgreSQL is
/// down the batch goes to a local spool file (fsynced) and is replayed in the background, or the append fails
/// (<see cref="LedgerOutageMode"/>). Spooled records are included in catch-up reads. Spool files of instances that
/// are gone (their lock is free, see <see cref="LedgerSpool"/>) are adopted at start, before every catch-up read and
/// on every replay. A row PostgreSQL refuses for its data (SQLSTATE class 22, or 23 other than a unique violation) is
/// isolated by splitting its batch, quarantined in <c>llm_calls_quarantine</c> (or a local quarantine file when that
/// fails too), logged and counted, and the rest of the batch or spool goes on.
/// </summary>
internal sealed partial class PostgresLedger : ILedger, IAsyncDisposable
{
    /// <summary>
    /// The first key of the per-tenant advisory locks that fence a catch-up read against inserts still in flight:
    /// every insert holds its tenants' locks shared until it commits, a catch-up takes its tenant's lock exclusively
    /// before it reads, so it waits for an insert a silo sent just before it died instead of reading past its rows.
    /// </summary>
    private const int TenantFenceKey = 0x4c4c5246; // "LLRF"

    /// <summary>How long a catch-up waits for the inserts in flight of its tenant before it fails (and is retried).</summary>
    private const string FenceTimeout = "15s";

    private const string Columns = "request_id, tenant_id, tenant_seq, run_id, tags, action, strategy, provider, model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, success, error_class, attempts, started_at, completed_at, usage_estimated, cache_write_tokens, cache_write_1h_tokens, deployment, trace_id, kind, project_id, key_id, end_user";

    private readonly NpgsqlDataSource _source;
    private readonly NpgsqlDataSource _isolation;
    private readonly PostgresLedgerOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _spoolLock = new(1, 1);
    private readonly LedgerSpool _spool;
    private readonly Lock _quarantineFileLock = new();
    private readonly HashSet<string> _fileQuarantined = new(StringComparer.Ordinal);
    private long _quarantinedByThisProcess;
    private readonly LedgerMetrics _metrics;
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

        // Isolating refused rows runs unprepared on its own small pool: a data error on an auto-prepared statement
        // retried many times (bisection) hung the connection in tests (Npgsql 9).
        _isolation = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.ConnectionString) { MaxPoolSize = 2, MaxAutoPrepare = 0 }.ConnectionString);
        _spool = new LedgerSpool(options.SpoolDirectory, options.InstanceId ?? DefaultInstanceId());
        var adopted = _spool.AdoptOrphans(TornLine);
        if (adopted > 0)
        {
            LogAdopted(_logger, adopted);
        }

        foreach (var q in ReadQuarantineFiles())
        {
            _fileQuarantined.Add(q.RequestId);
        }

        _metrics = new LedgerMetrics(() => SpooledCount, () => Interlocked.Read(ref _quarantinedByThisProcess));
        _writer = Task.Run(WriteLoopAsync);
        _replayer = Task.Run(() => ReplayLoopAsync(adopted > 0));
    }

    /// <summary>Records waiting in the spool for PostgreSQL (this instance's and those adopted from instances that are gone).</summary>
    public int SpooledCount
    {
        get
        {
            _spoolLock.Wait();
            try
            {
                return _spool.Count;
            }
            finally
            {
                _spoolLock.Release();
            }
        }
    }

    /// <summary>This ledger's instruments (commit latency and batch size, spool depth, quarantined rows).</summary>
    internal LedgerMetrics Metrics => _metrics;

    /// <summary>This instance's spool file (locked while it lives).</summary>
    public string SpoolFile => _spool.OwnPath;

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

        // A spooled record moves to the table by a replay that stores it and only then empties the spool: reading the
        // spool before the table and again after it sees every record in one place or the other, whatever replay runs
        // in between. A catch-up may also be the activation of a grain whose silo just died: adopt its spool first.
        var spooledBefore = await SpooledAsync(adopt: true, cancellationToken);
        await using (var connection = await _source.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // Wait for this tenant's inserts in flight (a grain's last settles on a silo that just died commit after
            // its death): the read below starts once they have committed or rolled back.
            await using (var timeout = new NpgsqlCommand($"SET LOCAL lock_timeout = '{FenceTimeout}'", connection, transaction))
            {
                await timeout.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var fence = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({TenantFenceKey}, hashtext($1))", connection, transaction))
            {
                fence.Parameters.AddWithValue(tenantId);
                await fence.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var cmd = new NpgsqlCommand($"SELECT {Columns} FROM llm_calls WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq", connection, transaction))
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

            await transaction.CommitAsync(cancellationToken);
        }

        // Quarantined rows were counted when they settled, so a catch-up counts them too.
        var quarantined = await ReadQuarantineTableAsync(Sanitize(tenantId), afterTenantSeq, int.MaxValue, cancellationToken);
        rows.AddRange(quarantined.Concat(ReadQuarantineFiles()).Select(q => q.Record)
            .OfType<LedgerRecord>()
            .Where(r => r.TenantId == tenantId && r.TenantSeq > afterTenantSeq && seen.Add(r.RequestId)));

        // After the table: a batch whose insert failed while the read waited went to the spool meanwhile.
        var spooledAfter = await SpooledAsync(adopt: true, cancellationToken);
        rows.AddRange(spooledBefore.Concat(spooledAfter).Where(r => r.TenantId == tenantId && r.TenantSeq > afterTenantSeq && seen.Add(r.RequestId)));
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
                   coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0),
                   coalesce(sum(reasoning_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0), count(*) FILTER (WHERE usage_estimated)
            FROM llm_calls WHERE {Where(cmd, query)} GROUP BY 1 ORDER BY 1
            """;
        var days = new List<UsageDay>();
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                days.Add(new UsageDay(
                    DateOnly.FromDateTime(reader.GetDateTime(0)),
                    new UsageTotals(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetDecimal(6))
                    {
                        ReasoningTokens = reader.GetInt64(7),
                        CacheWriteTokens = reader.GetInt64(8),
                        CacheWrite1hTokens = reader.GetInt64(9),
                        EstimatedCalls = reader.GetInt64(10),
                    }));
            }
        }

        var totals = days.Aggregate(UsageTotals.Empty, (a, d) => a.Plus(d.Totals));
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

    /// <summary>
    /// Replays the spool now (also runs in the background, at start and every <see cref="PostgresLedgerOptions.ReplayInterval"/>):
    /// adopts the spool files of instances that are gone, stores every waiting record (idempotent by request id; a row
    /// PostgreSQL refuses for its data is quarantined), then empties this instance's file and deletes the adopted ones.
    /// Returns how many records were replayed.
    /// </summary>
    public async Task<int> ReplaySpoolAsync(CancellationToken cancellationToken = default)
    {
        await _spoolLock.WaitAsync(cancellationToken);
        try
        {
            var adopted = _spool.AdoptOrphans(TornLine);
            if (adopted > 0)
            {
                LogAdopted(_logger, adopted);
            }

            var records = _spool.Records.ToList();
            foreach (var chunk in records.Chunk(_options.MaxBatch))
            {
                await StoreAsync(chunk, cancellationToken);
            }

            _spool.Clear();
            if (records.Count > 0)
            {
                LogReplayed(_logger, records.Count);
            }

            return records.Count;
        }
        finally
        {
            _spoolLock.Release();
        }
    }

    public async Task<LedgerBalance> BalanceAsync(string tenantId, IReadOnlyList<BalanceWindow> windows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        ArgumentNullException.ThrowIfNull(windows);
        try
        {
            var table = new List<WindowBalance>(windows.Count);
            await using (var cmd = _source.CreateCommand())
            {
                var sql = new StringBuilder("SELECT ");
                for (var i = 0; i < windows.Count; i++)
                {
                    var w = windows[i];
                    var cond = new List<string> { "true" };
                    if (w.From is { } from)
                    {
                        cond.Add($"completed_at >= @f{i}");
                        cmd.Parameters.AddWithValue($"f{i}", from.UtcDateTime);
                    }

                    if (w.To is { } to)
                    {
                        cond.Add($"completed_at < @t{i}");
                        cmd.Parameters.AddWithValue($"t{i}", to.UtcDateTime);
                    }

                    var filter = "FILTER (WHERE " + string.Join(" AND ", cond) + ")";
                    sql.Append(CultureInfo.InvariantCulture, $"count(*) {filter}, coalesce(sum(prompt_tokens + completion_tokens) {filter}, 0)::bigint, coalesce(sum(cost_usd) {filter}, 0), ");
                }

                sql.Append("0 FROM llm_calls WHERE tenant_id = @tenant");
                cmd.Parameters.AddWithValue("tenant", tenantId);
                cmd.CommandText = sql.ToString();
                await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                for (var i = 0; i < windows.Count; i++)
                {
                    table.Add(new WindowBalance(windows[i].Window, windows[i].Key, reader.GetInt64(3 * i), reader.GetInt64((3 * i) + 1), reader.GetDecimal((3 * i) + 2)));
                }
            }

            var runs = new Dictionary<string, WindowBalance>(StringComparer.Ordinal);
            await using (var cmd = _source.CreateCommand("SELECT run_id, count(*), coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint, coalesce(sum(cost_usd), 0) FROM llm_calls WHERE tenant_id = $1 AND run_id IS NOT NULL GROUP BY run_id"))
            {
                cmd.Parameters.AddWithValue(tenantId);
                await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var run = reader.GetString(0);
                    runs[run] = new WindowBalance("run", run, reader.GetInt64(1), reader.GetInt64(2), reader.GetDecimal(3));
                }
            }

            // Rows not (yet) in the table but counted by the budget grain when they settled: quarantined and spooled.
            var quarantined = (await ReadQuarantineTableAsync(Sanitize(tenantId), long.MinValue, int.MaxValue, cancellationToken))
                .Concat(ReadQuarantineFiles()).Select(q => q.Record).OfType<LedgerRecord>().Where(r => r.TenantId == tenantId)
                .DistinctBy(r => r.RequestId, StringComparer.Ordinal).ToList();
            var spooled = (await SpooledAsync(adopt: false, cancellationToken)).Where(r => r.TenantId == tenantId)
                .DistinctBy(r => r.RequestId, StringComparer.Ordinal).ToList();
            var inTable = await InTableAsync(quarantined.Concat(spooled).Select(r => r.RequestId).ToList(), cancellationToken);
            quarantined.RemoveAll(r => inTable.Contains(Sanitize(r.RequestId)));
            var quarantinedIds = quarantined.Select(r => r.RequestId).ToHashSet(StringComparer.Ordinal);
            spooled.RemoveAll(r => inTable.Contains(Sanitize(r.RequestId)) || quarantinedIds.Contains(r.RequestId));
            var extra = InMemoryLedger.Balance(tenantId, quarantined.Concat(spooled).ToList(), windows, 0, 0);

            var merged = table.Select((w, i) => w with { Rows = w.Rows + extra.Windows[i].Rows, Tokens = w.Tokens + extra.Windows[i].Tokens, CostUsd = w.CostUsd + extra.Windows[i].CostUsd }).ToList();
            foreach (var r in extra.Runs)
            {
                runs[r.Key!] = runs.TryGetValue(r.Key!, out var t) ? t with { Rows = t.Rows + r.Rows, Tokens = t.Tokens + r.Tokens, CostUsd = t.CostUsd + r.CostUsd } : r;
            }

            return new LedgerBalance(tenantId, merged, runs.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList(), quarantined.Count, spooled.Count);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new LedgerUnavailableException("The usage ledger could not be read.", ex);
        }
    }

    public async Task<QuarantineReport> QuarantineAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, 1000);
        try
        {
            await using var count = _source.CreateCommand("SELECT count(*) FROM llm_calls_quarantine");
            var inTable = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            var rows = await ReadQuarantineTableAsync(null, long.MinValue, limit, cancellationToken);
            var files = ReadQuarantineFiles();
            return new QuarantineReport(inTable + files.Count, Interlocked.Read(ref _quarantinedByThisProcess),
                rows.Concat(files).OrderByDescending(r => r.QuarantinedAt).Take(limit).ToList());
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new LedgerUnavailableException("The usage ledger could not be read.", ex);
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

        await _spoolLock.WaitAsync();
        try
        {
            _spool.Dispose(); // releases the lock; a non-empty spool stays for the next instance to adopt
        }
        finally
        {
            _spoolLock.Release();
        }

        _stop.Dispose();
        _metrics.Dispose();
        _spoolLock.Dispose();
        await _source.DisposeAsync();
        await _isolation.DisposeAsync();
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
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var stored = await StoreAsync(first.Select(p => p.Record).ToList(), CancellationToken.None);
            _metrics.Committed(started, first.Count, spooled: false);
            foreach (var p in batch)
            {
                p.Done.TrySetResult(stored.Remove(p.Record.RequestId));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
        {
            LogWriteFailed(_logger, batch.Count, _options.OutageMode.ToString(), ex);
            DropPooledConnections();
            if (_options.OutageMode == LedgerOutageMode.FailClosed)
            {
                var error = new LedgerUnavailableException("The usage ledger is unavailable; the call was not billed and its response is withheld.", ex);
                batch.ForEach(p => p.Done.TrySetException(error));
                return;
            }

            try
            {
                await _spoolLock.WaitAsync();
                try
                {
                    _spool.Append(first.Select(p => p.Record));
                }
                finally
                {
                    _spoolLock.Release();
                }

                _metrics.Committed(started, first.Count, spooled: true);

                batch.ForEach(p => p.Done.TrySetResult(first.Contains(p)));
            }
            catch (IOException spoolError)
            {
                var error = new LedgerUnavailableException("The usage ledger and its spool are unavailable.", spoolError);
                batch.ForEach(p => p.Done.TrySetException(error));
            }
        }
    }

    /// <summary>
    /// PostgreSQL could not be reached: every connection pooled in this process before now may be dead (a restart, a
    /// failover or a network cut closes them, and a pool finds out only when it lends one). They are dropped — this
    /// ledger's and every connection-string pool (grain storage, clustering) — so the first grain activation or state
    /// write after the outage opens a fresh connection instead of failing on a dead one. Connections in use are
    /// closed when they are returned.
    /// </summary>
    private void DropPooledConnections()
    {
        _source.Clear();
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>
    /// Stores records; returns the request ids recorded now (inserted, or quarantined for the first time). A batch
    /// refused for its data is split in halves until the refused rows stand alone, so k bad rows in n cost about
    /// k·log2(n) extra round-trips. Anything else (an outage) is thrown to the caller.
    /// </summary>
    private async Task<HashSet<string>> StoreAsync(IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken, bool isolating = false)
    {
        try
        {
            return await InsertAsync(isolating ? _isolation : _source, records, cancellationToken);
        }
        catch (PostgresException ex) when (IsDataError(ex))
        {
            if (records.Count == 1)
            {
                var stored = new HashSet<string>(StringComparer.Ordinal);
                if (await QuarantineRowAsync(records[0], ex, cancellationToken))
                {
                    stored.Add(records[0].RequestId);
                }

                return stored;
            }

            var half = records.Count / 2;
            var left = await StoreAsync(records.Take(half).ToList(), cancellationToken, isolating: true);
            left.UnionWith(await StoreAsync(records.Skip(half).ToList(), cancellationToken, isolating: true));
            return left;
        }
    }

    /// <summary>A data exception (class 22) or an integrity violation (class 23) other than "already there" (23505).</summary>
    private static bool IsDataError(PostgresException ex) =>
        ex.SqlState.StartsWith("22", StringComparison.Ordinal) || (ex.SqlState.StartsWith("23", StringComparison.Ordinal) && ex.SqlState != PostgresErrorCodes.UniqueViolation);

    /// <summary>
    /// Sets a refused row aside: in <c>llm_calls_quarantine</c>, or in the local quarantine file when the table cannot
    /// take it either. False when its request id is already billed or quarantined (nothing counts twice).
    /// </summary>
    private async Task<bool> QuarantineRowAsync(LedgerRecord record, PostgresException refusal, CancellationToken cancellationToken)
    {
        lock (_quarantineFileLock)
        {
            if (_fileQuarantined.Contains(record.RequestId))
            {
                return false;
            }
        }

        bool quarantined;
        var where = "postgres";
        try
        {
            await using var cmd = _isolation.CreateCommand("""
                INSERT INTO llm_calls_quarantine (request_id, tenant_id, tenant_seq, record, sqlstate, error)
                SELECT $1, $2, $3, $4::json, $5, $6
                WHERE NOT EXISTS (SELECT 1 FROM llm_calls WHERE request_id = $1)
                ON CONFLICT (request_id) DO NOTHING
                RETURNING request_id
                """);
            cmd.Parameters.AddWithValue(Sanitize(record.RequestId));
            cmd.Parameters.AddWithValue(Sanitize(record.TenantId));
            cmd.Parameters.AddWithValue(record.TenantSeq);
            cmd.Parameters.AddWithValue(JsonSerializer.Serialize(record, LedgerJson.Default.LedgerRecord)); // NUL is escaped as \u0000
            cmd.Parameters.AddWithValue(refusal.SqlState);
            cmd.Parameters.AddWithValue(Sanitize(refusal.MessageText));
            quarantined = await cmd.ExecuteScalarAsync(cancellationToken) is not null;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            LogQuarantineTableFailed(_logger, ex.GetType().Name);
            quarantined = QuarantineToFile(record, refusal);
            where = "file";
        }

        if (quarantined)
        {
            Interlocked.Increment(ref _quarantinedByThisProcess);
            LogQuarantined(_logger, Sanitize(record.RequestId), Sanitize(record.TenantId), refusal.SqlState, Sanitize(refusal.MessageText), where);
        }

        return quarantined;
    }

    private static async Task<HashSet<string>> InsertAsync(NpgsqlDataSource source, IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        if (records.Count == 0)
        {
            return inserted;
        }

        await using var cmd = source.CreateCommand($"""
            INSERT INTO llm_calls ({Columns})
            SELECT r, t, s, run, string_to_array(tg, E'\x1f'), a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca, est, cw, cw1h, dep, tid, COALESCE(k, 'model_call'), pj, ky, eu
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::numeric[], $15::float8[], $16::float8[],
                        $17::bool[], $18::text[], $19::int[], $20::timestamptz[], $21::timestamptz[], $22::bool[], $23::bigint[], $24::bigint[], $25::text[], $26::text[], $27::text[],
                        $28::text[], $29::text[], $30::text[])
                 AS u(r, t, s, run, tg, a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca, est, cw, cw1h, dep, tid, k, pj, ky, eu)
            WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared({TenantFenceKey}, h)
                                         FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($2::text[]) AS x ORDER BY h) AS k) AS f) >= 0
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
        Add(cmd, NpgsqlDbType.Boolean, records.Select(r => r.UsageEstimated));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.CacheWriteTokens));
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.CacheWrite1hTokens));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Deployment));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.TraceId));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Kind));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.ProjectId));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.KeyId));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.EndUser));
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
        UsageEstimated = r.GetBoolean(21),
        CacheWriteTokens = r.GetInt64(22),
        CacheWrite1hTokens = r.GetInt64(23),
        Deployment = r.IsDBNull(24) ? null : r.GetString(24),
        TraceId = r.IsDBNull(25) ? null : r.GetString(25),
        Kind = r.IsDBNull(26) ? LedgerRecord.ModelCall : r.GetString(26),
        ProjectId = r.IsDBNull(27) ? null : r.GetString(27),
        KeyId = r.IsDBNull(28) ? null : r.GetString(28),
        EndUser = r.IsDBNull(29) ? null : r.GetString(29),
    };

    private bool QuarantineToFile(LedgerRecord record, PostgresException refusal)
    {
        lock (_quarantineFileLock)
        {
            if (!_fileQuarantined.Add(record.RequestId))
            {
                return false;
            }

            var entry = new QuarantinedRecord(Sanitize(record.RequestId), Sanitize(record.TenantId), record, refusal.SqlState, Sanitize(refusal.MessageText), _options.TimeProvider.GetUtcNow(), "file");
            using var stream = new FileStream(_spool.QuarantinePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            stream.Write(JsonSerializer.SerializeToUtf8Bytes(entry, LedgerJson.Default.QuarantinedRecord));
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
            return true;
        }
    }

    /// <summary>Rows in the local quarantine files of every instance sharing the spool directory.</summary>
    private List<QuarantinedRecord> ReadQuarantineFiles()
    {
        var rows = new List<QuarantinedRecord>();
        lock (_quarantineFileLock)
        {
            foreach (var file in Directory.EnumerateFiles(_options.SpoolDirectory, LedgerSpool.QuarantinePrefix + "*" + LedgerSpool.Extension))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                while (reader.ReadLine() is { } line)
                {
                    try
                    {
                        if (line.Length > 0 && JsonSerializer.Deserialize(line, LedgerJson.Default.QuarantinedRecord) is { } row)
                        {
                            rows.Add(row);
                        }
                    }
                    catch (JsonException)
                    {
                        TornLine(Path.GetFileName(file), 0);
                    }
                }
            }
        }

        return rows;
    }

    private async Task<List<QuarantinedRecord>> ReadQuarantineTableAsync(string? tenantId, long afterTenantSeq, int limit, CancellationToken cancellationToken)
    {
        var rows = new List<QuarantinedRecord>();
        await using var cmd = _source.CreateCommand("""
            SELECT request_id, tenant_id, record::text, sqlstate, error, quarantined_at FROM llm_calls_quarantine
            WHERE ($1::text IS NULL OR tenant_id = $1) AND tenant_seq > $2 ORDER BY quarantined_at DESC, request_id LIMIT $3
            """);
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)tenantId ?? DBNull.Value });
        cmd.Parameters.AddWithValue(afterTenantSeq);
        cmd.Parameters.AddWithValue(limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            LedgerRecord? record;
            try
            {
                record = JsonSerializer.Deserialize(reader.GetString(2), LedgerJson.Default.LedgerRecord);
            }
            catch (JsonException)
            {
                record = null;
            }

            rows.Add(new QuarantinedRecord(reader.GetString(0), reader.GetString(1), record, reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero), "postgres"));
        }

        return rows;
    }

    /// <summary>Which of these request ids the table holds (ids compared with NUL shown as U+FFFD: a NUL id cannot be there).</summary>
    private async Task<HashSet<string>> InTableAsync(List<string> requestIds, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (requestIds.Count == 0)
        {
            return found;
        }

        await using var cmd = _source.CreateCommand("SELECT request_id FROM llm_calls WHERE request_id = ANY($1)");
        cmd.Parameters.AddWithValue(requestIds.Select(Sanitize).ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }

    /// <summary>The records waiting in the spool; with <paramref name="adopt"/>, after taking over those of instances that are gone.</summary>
    private async Task<List<LedgerRecord>> SpooledAsync(bool adopt, CancellationToken cancellationToken)
    {
        await _spoolLock.WaitAsync(cancellationToken);
        try
        {
            if (adopt && _spool.AdoptOrphans(TornLine) is > 0 and var adopted)
            {
                LogAdopted(_logger, adopted);
            }

            return _spool.Records.ToList();
        }
        finally
        {
            _spoolLock.Release();
        }
    }

    /// <summary>
    /// Replays the spool every <see cref="PostgresLedgerOptions.ReplayInterval"/>, and at once when the constructor
    /// adopted records (whatever the moment this loop starts, it decides from what was adopted then).
    /// </summary>
    private async Task ReplayLoopAsync(bool adoptedAtStart)
    {
        var due = adoptedAtStart;
        while (!_stop.IsCancellationRequested)
        {
            if (due)
            {
                try
                {
                    await ReplaySpoolAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
                {
                    LogReplayFailed(_logger, ex.Message);
                }
            }

            due = true;
            await Task.Delay(_options.ReplayInterval, _options.TimeProvider, _stop.Token);
        }
    }

    private void TornLine(string file, int line) => LogTornLine(_logger, file, line);

    /// <summary>Text PostgreSQL can hold: NUL characters become U+FFFD.</summary>
    private static string Sanitize(string value) => value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

    private static string DefaultInstanceId()
    {
        var host = new string(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' ? c : '_').ToArray());
        var id = string.Create(CultureInfo.InvariantCulture, $"{host[..Math.Min(host.Length, 64)]}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        return id[..(id.Length - 24)]; // host-pid- and 8 hex digits of randomness
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger: adopted {Count} spooled records from spool files whose owner is gone")]
    private static partial void LogAdopted(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger: skipped an unreadable line in {File} (line {Line}); a write torn by a crash, never confirmed to its caller")]
    private static partial void LogTornLine(ILogger logger, string file, int line);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ledger: PostgreSQL refused the row of request {RequestId} (tenant {Tenant}) for its data ({SqlState}: {Error}); quarantined in {Where}, the rest goes on")]
    private static partial void LogQuarantined(ILogger logger, string requestId, string tenant, string sqlState, string error, string where);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ledger: the quarantine table refused a row too ({Error}); it goes to the local quarantine file")]
    private static partial void LogQuarantineTableFailed(ILogger logger, string error);
}
