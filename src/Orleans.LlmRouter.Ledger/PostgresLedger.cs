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
/// The ledger on PostgreSQL (table <c>llm_calls</c>, partitioned by <c>completed_at</c>, see deploy/sql/016). Appends are
/// group-committed: a single writer drains every waiting record into one statement (one round-trip, auto-prepared) that
/// inserts the request ids into <c>llm_call_ids</c> (<c>ON CONFLICT DO NOTHING</c>, so a request id is billed once), the
/// rows whose id was new, and their sums into the daily rollups <c>llm_usage_daily</c>. When PostgreSQL is
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

    private const string Columns = "request_id, tenant_id, tenant_seq, run_id, tags, action, strategy, provider, model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, success, error_class, attempts, started_at, completed_at, usage_estimated, cache_write_tokens, cache_write_1h_tokens, deployment, trace_id, kind, project_id, key_id, end_user, cache, saved_usd, attempt_log";

    /// <summary>
    /// The rollups of the rows retention dropped (days before <c>llm_ledger_state.raw_from</c>) of tenant $1, as records
    /// with the columns of <see cref="Columns"/>: <see cref="LedgerRecord.RollupKind"/>, position 0, completed at the
    /// day's start (UTC), the sums of the day's calls for one model, provider, project and key.
    /// </summary>
    private const string DroppedRollups = """
        SELECT 'rollup/' || d.day || '/' || d.provider || '/' || d.model || '/' || coalesce(d.project_id, '') || '/' || coalesce(d.key_id, ''),
               d.tenant_id, 0::bigint, NULL::text, '{}'::text[], NULL::text, NULL::text, d.provider, d.model, d.prompt_tokens, d.completion_tokens,
               d.cached_tokens, d.reasoning_tokens, d.cost_usd, 0::float8, NULL::float8, d.failed = 0, NULL::text, 0, d.day::timestamp AT TIME ZONE 'UTC',
               d.day::timestamp AT TIME ZONE 'UTC', d.estimated > 0, d.cache_write_tokens, d.cache_write_1h_tokens, NULL::text, NULL::text, 'rollup',
               d.project_id, d.key_id, NULL::text, NULL::text, d.saved_usd, NULL::jsonb
        FROM llm_usage_daily d, llm_ledger_state s
        WHERE d.tenant_id = $1 AND s.raw_from IS NOT NULL AND d.day < (s.raw_from AT TIME ZONE 'UTC')::date
        """;

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
    private readonly Task _maintenance;

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
        _maintenance = options.PartitionsAhead is null && options.RetainMonths is null ? Task.CompletedTask : Task.Run(MaintenanceLoopAsync);
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

    public async Task<long> FenceAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenantId);

        // The tenant's lock, exclusively: every insert already holding it (shared) commits first, and every later one
        // reads the new epoch (its snapshot is taken once it holds the lock). Raising the epoch twice (a commit whose
        // answer was lost, then the retry) is harmless: only its order matters.
        return await OnLiveConnectionAsync(connection => RaiseFenceAsync(connection, tenantId, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection, and once more on a new one when the pooled one turns out
    /// dead: a connection that sat idle in the pool through a database outage (or a cut network) breaks on first use,
    /// and Npgsql does not test connections it hands out. Only for work that is safe to repeat.
    /// </summary>
    private async Task<T> OnLiveConnectionAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken);
            try
            {
                return await work(connection);
            }
            catch (NpgsqlException) when (attempt == 1 && connection.FullState.HasFlag(System.Data.ConnectionState.Broken))
            {
                _source.Clear(); // its siblings idled through the same outage
            }
        }
    }

    private static async Task<long> RaiseFenceAsync(NpgsqlConnection connection, string tenantId, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var timeout = new NpgsqlCommand($"SET LOCAL lock_timeout = '{FenceTimeout}'", connection, transaction))
        {
            await timeout.ExecuteNonQueryAsync(cancellationToken);
        }

        long epoch;
        await using (var cmd = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({TenantFenceKey}, hashtext($1));
            """, connection, transaction))
        {
            cmd.Parameters.AddWithValue(tenantId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var cmd = new NpgsqlCommand("""
            INSERT INTO llm_tenant_epochs AS e (tenant_id, epoch) VALUES ($1, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET epoch = e.epoch + 1
            RETURNING epoch
            """, connection, transaction))
        {
            cmd.Parameters.AddWithValue(tenantId);
            epoch = (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
        }

        await transaction.CommitAsync(cancellationToken);
        return epoch;
    }

    public async IAsyncEnumerable<LedgerRecord> ReadAfterAsync(string tenantId, long afterTenantSeq, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rows = new List<LedgerRecord>();

        // A spooled record moves to the table by a replay that stores it and only then empties the spool: reading the
        // spool before the table and again after it sees every record in one place or the other, whatever replay runs
        // in between. A catch-up may also be the activation of a grain whose silo just died: adopt its spool first.
        var spooledBefore = await SpooledAsync(adopt: true, cancellationToken);
        rows.AddRange(await OnLiveConnectionAsync(connection => ReadTableAfterAsync(connection, tenantId, afterTenantSeq, cancellationToken), cancellationToken));
        seen.UnionWith(rows.Select(r => r.RequestId));

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

    /// <summary>The tenant's rows after a position, read once its inserts in flight have committed (see <see cref="ReadAfterAsync"/>).</summary>
    private static async Task<List<LedgerRecord>> ReadTableAfterAsync(NpgsqlConnection connection, string tenantId, long afterTenantSeq, CancellationToken cancellationToken)
    {
        var rows = new List<LedgerRecord>();
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

            // A read from the beginning (a full recount) also counts the rows retention dropped, from their rollups: one
            // summary record per rollup row before llm_ledger_state.raw_from, at position 0. One statement, one snapshot:
            // a partition dropped meanwhile is counted once, as rows or as rollups.
            var sql = afterTenantSeq >= 0
                ? $"SELECT {Columns} FROM llm_calls WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq"
                : $"SELECT {Columns} FROM llm_calls WHERE tenant_id = $1 AND tenant_seq > $2 UNION ALL {DroppedRollups} ORDER BY 3";
            await using (var cmd = new NpgsqlCommand(sql, connection, transaction))
            {
                cmd.Parameters.AddWithValue(tenantId);
                cmd.Parameters.AddWithValue(afterTenantSeq);
                await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(Read(reader));
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return rows;
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
        const string RawSums = """
            count(*), count(*) FILTER (WHERE NOT success),
            coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0),
            coalesce(sum(reasoning_tokens), 0), coalesce(sum(cache_write_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0), count(*) FILTER (WHERE usage_estimated),
            count(*) FILTER (WHERE cache IN ('hit', 'coalesced')), coalesce(sum(saved_usd), 0)
            """;
        var where = Where(cmd, query);

        // Whole UTC days come from the rollups (per tenant, day, model, provider, project and key); the partial days at
        // the edges of the range, and any query by action or tag (not rolled up), read rows.
        var rollFrom = query.From is { } f ? DateOnly.FromDateTime(f.UtcDateTime.TimeOfDay == TimeSpan.Zero ? f.UtcDateTime : f.UtcDateTime.Date.AddDays(1)) : (DateOnly?)null;
        var rollTo = query.To is { } t ? DateOnly.FromDateTime(t.UtcDateTime.Date) : (DateOnly?)null;
        var rollups = query.Action is null && query.Tag is null && (rollFrom is null || rollTo is null || rollFrom < rollTo);
        if (!rollups)
        {
            cmd.CommandText = $"SELECT (completed_at AT TIME ZONE 'UTC')::date AS day, {RawSums} FROM llm_calls WHERE {where} GROUP BY 1 ORDER BY 1";
        }
        else
        {
            var roll = new StringBuilder("tenant_id = @tenant");
            var edges = new List<string>();
            if (rollFrom is { } rf)
            {
                roll.Append(" AND day >= @rf");
                edges.Add("completed_at < @rfts");
                cmd.Parameters.AddWithValue("rf", rf);
                cmd.Parameters.AddWithValue("rfts", rf.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
            }

            if (rollTo is { } rt)
            {
                roll.Append(" AND day < @rt");
                edges.Add("completed_at >= @rtts");
                cmd.Parameters.AddWithValue("rt", rt);
                cmd.Parameters.AddWithValue("rtts", rt.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
            }

            roll.Append(query.Model is null ? string.Empty : " AND model = @model").Append(query.Provider is null ? string.Empty : " AND provider = @provider");
            var raw = edges.Count == 0
                ? string.Empty
                : $"UNION ALL SELECT (completed_at AT TIME ZONE 'UTC')::date, {RawSums} FROM llm_calls WHERE {where} AND ({string.Join(" OR ", edges)}) GROUP BY 1";
            cmd.CommandText = $"""
                SELECT day, sum(calls)::bigint, sum(failed)::bigint, sum(pt)::bigint, sum(ct)::bigint, sum(cch)::bigint, sum(cost), sum(rt)::bigint, sum(cw)::bigint, sum(cw1h)::bigint, sum(est)::bigint,
                       sum(hits)::bigint, sum(saved)
                FROM (SELECT day, sum(calls), sum(failed), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cost_usd), sum(reasoning_tokens),
                             sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(estimated), sum(cache_hits), sum(saved_usd)
                      FROM llm_usage_daily WHERE {roll} GROUP BY 1
                      {raw}) AS x(day, calls, failed, pt, ct, cch, cost, rt, cw, cw1h, est, hits, saved)
                GROUP BY 1 ORDER BY 1
                """;
        }

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
                        CacheHits = reader.GetInt64(11),
                        SavedUsd = reader.GetDecimal(12),
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
            // A spooled record was accepted when it was spooled (its settle counted it, and a catch-up reads the spool):
            // it is stored whatever fence was raised since.
            foreach (var chunk in records.Chunk(_options.MaxBatch))
            {
                await StoreAsync(chunk.Select(r => r.Epoch == 0 ? r : r with { Epoch = 0 }).ToList(), cancellationToken);
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
                // Closed UTC days (before today's start) come from the rollups, which also hold what retention dropped;
                // rows are read only for the open day and for the partial days at a window's edges (a window in the
                // tenant's zone), so the audit's cost does not grow with history. One statement: one snapshot.
                var open = DateOnly.FromDateTime(_options.TimeProvider.GetUtcNow().UtcDateTime);
                var rowAggs = new StringBuilder();
                var rollAggs = new StringBuilder();
                var spans = new List<string>();
                cmd.Parameters.AddWithValue("tenant", tenantId);
                for (var i = 0; i < windows.Count; i++)
                {
                    var (rowCond, rollCond) = BalanceSplit(cmd, i, windows[i], open);
                    spans.Add(rowCond);
                    var rowFilter = $"FILTER (WHERE {rowCond})";
                    var rollFilter = $"FILTER (WHERE {rollCond})";
                    rowAggs.Append(CultureInfo.InvariantCulture, $"count(*) {rowFilter} AS r{i}, coalesce(sum(prompt_tokens + completion_tokens) {rowFilter}, 0)::bigint AS k{i}, coalesce(sum(cost_usd) {rowFilter}, 0) AS c{i}, ");
                    rollAggs.Append(CultureInfo.InvariantCulture, $"coalesce(sum(calls) {rollFilter}, 0)::bigint AS rr{i}, coalesce(sum(prompt_tokens + completion_tokens) {rollFilter}, 0)::bigint AS rk{i}, coalesce(sum(cost_usd) {rollFilter}, 0) AS rc{i}, ");
                }

                cmd.CommandText = $"""
                    SELECT * FROM
                        (SELECT {rowAggs}0 AS x FROM llm_calls WHERE tenant_id = @tenant AND ({(spans.Count == 0 ? "false" : string.Join(" OR ", spans))})) AS a,
                        (SELECT {rollAggs}0 AS y FROM llm_usage_daily WHERE tenant_id = @tenant) AS b
                    """;
                await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var rolled = (3 * windows.Count) + 1;
                for (var i = 0; i < windows.Count; i++)
                {
                    table.Add(new WindowBalance(
                        windows[i].Window,
                        windows[i].Key,
                        reader.GetInt64(3 * i) + reader.GetInt64(rolled + (3 * i)),
                        reader.GetInt64((3 * i) + 1) + reader.GetInt64(rolled + (3 * i) + 1),
                        reader.GetDecimal((3 * i) + 2) + reader.GetDecimal(rolled + (3 * i) + 2)));
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

    /// <summary>
    /// Creates the partitions of <c>llm_calls</c> from the current period through <paramref name="through"/> (at the
    /// interval set in <c>llm_ledger_settings</c>); rows that fell into <c>llm_calls_default</c> for a new period move
    /// into it. Returns how many partitions were created. Runs at start and every <see cref="PostgresLedgerOptions.MaintenanceInterval"/>.
    /// </summary>
    public async Task<int> EnsurePartitionsAsync(DateTimeOffset through, CancellationToken cancellationToken = default)
    {
        await using var cmd = _source.CreateCommand("SELECT llm_ledger_ensure_partitions($1, $2)");
        cmd.Parameters.AddWithValue(through.UtcDateTime);
        cmd.Parameters.AddWithValue(_options.TimeProvider.GetUtcNow().UtcDateTime);
        return (int)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Retention: detaches and drops (after exporting them as CSV when <see cref="PostgresLedgerOptions.RetentionExportDirectory"/>
    /// is set) every partition that ends at or before <paramref name="keepFrom"/>, oldest first. Whole partitions only,
    /// never row deletes; their request ids go with them and the rollups stay, so reports and audits keep their totals.
    /// Returns the names of the partitions dropped.
    /// </summary>
    public async Task<IReadOnlyList<string>> DropPartitionsBeforeAsync(DateTimeOffset keepFrom, CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        await using (var cmd = _source.CreateCommand("SELECT name FROM llm_ledger_partitions WHERE to_time <= $1 ORDER BY from_time"))
        {
            cmd.Parameters.AddWithValue(keepFrom.UtcDateTime);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                names.Add(reader.GetString(0));
            }
        }

        foreach (var name in names)
        {
            if (_options.RetentionExportDirectory is { } directory)
            {
                Directory.CreateDirectory(directory);
                var file = Path.Combine(directory, name + ".csv");
                await using var connection = await _source.OpenConnectionAsync(cancellationToken);
                using (var export = await connection.BeginTextExportAsync($"COPY (SELECT * FROM \"{name}\" ORDER BY completed_at, seq) TO STDOUT WITH (FORMAT csv, HEADER)", cancellationToken))
                await using (var output = new StreamWriter(file + ".tmp", append: false, new UTF8Encoding(false)))
                {
                    var buffer = new char[81920];
                    int n;
                    while ((n = await export.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    }

                    await output.FlushAsync(cancellationToken);
                }

                File.Move(file + ".tmp", file, overwrite: true);
            }

            await using var drop = _source.CreateCommand("SELECT llm_ledger_drop_partition($1)");
            drop.Parameters.AddWithValue(name);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            LogPartitionDropped(_logger, name, _options.RetentionExportDirectory ?? "(not exported)");
        }

        return names;
    }

    /// <summary>The retention horizon for <see cref="PostgresLedgerOptions.RetainMonths"/>: the start of the month that many months before this one, so no row younger than that many months goes.</summary>
    internal static DateTimeOffset RetentionHorizon(DateTimeOffset now, int retainMonths)
    {
        var month = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return month.AddMonths(-retainMonths);
    }

    /// <summary>
    /// Splits an audit window into the whole UTC days before <paramref name="open"/> it covers (read from the rollups)
    /// and the rest (read from rows: the partial first and last days of a window in the tenant's zone, and the open day).
    /// Returns the row condition and the rollup condition, with their parameters added to <paramref name="cmd"/>.
    /// </summary>
    private static (string Rows, string Rollups) BalanceSplit(NpgsqlCommand cmd, int i, BalanceWindow window, DateOnly open)
    {
        var rows = new List<string>();
        if (window.From is { } from)
        {
            rows.Add($"completed_at >= @f{i}");
            cmd.Parameters.AddWithValue($"f{i}", from.UtcDateTime);
        }

        if (window.To is { } to)
        {
            rows.Add($"completed_at < @t{i}");
            cmd.Parameters.AddWithValue($"t{i}", to.UtcDateTime);
        }

        // Whole days: from the first UTC midnight at or after From to the last one at or before To, and before today.
        DateOnly? first = window.From is { } f ? CeilingDay(f) : null;
        var last = window.To is { } t ? DateOnly.FromDateTime(t.UtcDateTime) : open;
        if (last > open)
        {
            last = open;
        }

        if (first is { } a && a >= last)
        {
            return (rows.Count == 0 ? "true" : string.Join(" AND ", rows), "false");
        }

        var roll = new List<string> { $"day < @rt{i}" };
        cmd.Parameters.AddWithValue($"rt{i}", last);
        var covered = new List<string> { $"completed_at < @rtts{i}" };
        cmd.Parameters.AddWithValue($"rtts{i}", last.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        if (first is { } b)
        {
            roll.Add($"day >= @rf{i}");
            cmd.Parameters.AddWithValue($"rf{i}", b);
            covered.Add($"completed_at >= @rfts{i}");
            cmd.Parameters.AddWithValue($"rfts{i}", b.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        }

        rows.Add("NOT (" + string.Join(" AND ", covered) + ")");
        return (string.Join(" AND ", rows), string.Join(" AND ", roll));
    }

    private static DateOnly CeilingDay(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        var day = DateOnly.FromDateTime(utc);
        return utc.TimeOfDay == TimeSpan.Zero ? day : day.AddDays(1);
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

        try
        {
            await _maintenance;
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
            var (stored, fenced) = await StoreAsync(first.Select(p => p.Record).ToList(), CancellationToken.None);
            _metrics.Committed(started, first.Count, spooled: false);
            foreach (var p in batch)
            {
                if (fenced.Contains(p.Record.RequestId) && first.Contains(p))
                {
                    p.Done.TrySetException(new LedgerFencedException($"Tenant '{Sanitize(p.Record.TenantId)}': the row's writer (epoch {p.Record.Epoch}) was fenced off by a newer one; nothing was stored."));
                }
                else
                {
                    p.Done.TrySetResult(stored.Remove(p.Record.RequestId));
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An outage (NpgsqlException, TimeoutException, IOException…) or anything else Npgsql throws (its protocol
            // errors are plain Exceptions): the batch is spooled or failed and the writer goes on. A writer that stopped
            // here would leave every later append waiting forever.
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
    /// Stores records; returns the request ids recorded now (inserted, or quarantined for the first time) and those
    /// refused by a tenant's fence (<see cref="FenceAsync"/>). A batch refused for its data is split in halves until the
    /// refused rows stand alone, so k bad rows in n cost about k·log2(n) extra round-trips. Anything else (an outage) is
    /// thrown to the caller.
    /// </summary>
    private async Task<(HashSet<string> Stored, HashSet<string> Fenced)> StoreAsync(List<LedgerRecord> records, CancellationToken cancellationToken, bool isolating = false)
    {
        try
        {
            return await InsertAsync(isolating ? _isolation : _source, records, cancellationToken);
        }
        catch (PostgresException ex) when (IsDataError(ex))
        {
            // The connection that ran the refused statement goes: after an error, an auto-prepared statement can be left
            // in a state where its next execution reads the wrong messages ("Received unexpected backend message
            // DataRow", Npgsql 10; npgsql/npgsql#6391), which stopped the group commit. Idle connections are closed now,
            // that one when it is returned; the next batch prepares its statement on a fresh connection.
            (isolating ? _isolation : _source).Clear();
            if (records.Count == 1)
            {
                var stored = new HashSet<string>(StringComparer.Ordinal);
                if (await QuarantineRowAsync(records[0], ex, cancellationToken))
                {
                    stored.Add(records[0].RequestId);
                }

                return (stored, new HashSet<string>(StringComparer.Ordinal));
            }

            var half = records.Count / 2;
            var left = await StoreAsync(records.Take(half).ToList(), cancellationToken, isolating: true);
            var right = await StoreAsync(records.Skip(half).ToList(), cancellationToken, isolating: true);
            left.Stored.UnionWith(right.Stored);
            left.Fenced.UnionWith(right.Fenced);
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
                WHERE NOT EXISTS (SELECT 1 FROM llm_call_ids WHERE request_id = $1)
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

    private static async Task<(HashSet<string> Stored, HashSet<string> Fenced)> InsertAsync(NpgsqlDataSource source, List<LedgerRecord> records, CancellationToken cancellationToken)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var fenced = new HashSet<string>(StringComparer.Ordinal);
        if (records.Count == 0)
        {
            return (inserted, fenced);
        }

        // A request id twice in one statement would join twice below: the first wins, as in the table.
        records = records.DistinctBy(r => r.RequestId, StringComparer.Ordinal).ToList();

        // Two statements in one round trip and one transaction. The first takes the per-tenant locks (shared) that a
        // catch-up read or a fence takes exclusively; the second, with a snapshot taken once it holds them, checks each
        // row's epoch against its tenant's fence and stores the request ids (llm_call_ids holds "billed once": a
        // partitioned llm_calls cannot have a unique key on request_id alone), then the rows whose id was new, then the
        // day's rollups from exactly those rows. In one statement the epoch would be read from a snapshot older than the
        // lock, and a row of a fenced-off writer waiting on a fence would get in after it.
        await using var batch = source.CreateBatch();
        var locks = new NpgsqlBatchCommand($"""
            SELECT count(*) FROM (SELECT pg_advisory_xact_lock_shared({TenantFenceKey}, h)
                                  FROM (SELECT DISTINCT hashtext(x) AS h FROM unnest($1::text[]) AS x ORDER BY h) AS k) AS f
            """);
        locks.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = records.Select(r => r.TenantId).Distinct(StringComparer.Ordinal).ToArray() });
        batch.BatchCommands.Add(locks);
        var cmd = new NpgsqlBatchCommand($"""
            WITH u AS MATERIALIZED (
                SELECT r, t, s, run, string_to_array(tg, E'\x1f') AS tags, a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca, est, cw, cw1h, dep, tid,
                       COALESCE(k, 'model_call') AS k, pj, ky, eu, ep, ch, sv, al::jsonb AS al
                FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::numeric[], $15::float8[], $16::float8[],
                            $17::bool[], $18::text[], $19::int[], $20::timestamptz[], $21::timestamptz[], $22::bool[], $23::bigint[], $24::bigint[], $25::text[], $26::text[], $27::text[],
                            $28::text[], $29::text[], $30::text[], $31::bigint[], $32::text[], $33::numeric[], $34::text[])
                     AS u(r, t, s, run, tg, a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca, est, cw, cw1h, dep, tid, k, pj, ky, eu, ep, ch, sv, al)),
            live AS MATERIALIZED (
                SELECT * FROM u
                WHERE u.ep = 0 OR u.ep >= COALESCE((SELECT e.epoch FROM llm_tenant_epochs e WHERE e.tenant_id = u.t), 0)),
            ids AS (
                INSERT INTO llm_call_ids (request_id, completed_at) SELECT r, ca FROM live
                ON CONFLICT (request_id) DO NOTHING
                RETURNING request_id),
            ins AS (
                INSERT INTO llm_calls ({Columns})
                SELECT r, t, s, run, tags, a, st, p, m, pt, ct, cch, rt, c, l, ttft, ok, ec, att, sa, ca, est, cw, cw1h, dep, tid, k, pj, ky, eu, ch, sv, al
                FROM live JOIN ids ON ids.request_id = live.r
                RETURNING request_id, tenant_id, completed_at, model, provider, project_id, key_id, success, usage_estimated, prompt_tokens,
                          completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd, cache, saved_usd),
            roll AS (
                INSERT INTO llm_usage_daily AS d (tenant_id, day, model, provider, project_id, key_id, calls, failed, estimated, prompt_tokens,
                                                  completion_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, cache_write_1h_tokens, cost_usd,
                                                  cache_hits, saved_usd)
                SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date, model, provider, project_id, key_id, count(*), count(*) FILTER (WHERE NOT success),
                       count(*) FILTER (WHERE usage_estimated), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
                       sum(reasoning_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(cost_usd),
                       count(*) FILTER (WHERE cache IN ('hit', 'coalesced')), sum(saved_usd)
                FROM ins GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
                ON CONFLICT (tenant_id, day, model, provider, project_id, key_id) DO UPDATE SET
                    calls = d.calls + EXCLUDED.calls, failed = d.failed + EXCLUDED.failed, estimated = d.estimated + EXCLUDED.estimated,
                    prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens, completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
                    cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens, reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens,
                    cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
                    cache_write_1h_tokens = d.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens, cost_usd = d.cost_usd + EXCLUDED.cost_usd,
                    cache_hits = d.cache_hits + EXCLUDED.cache_hits, saved_usd = d.saved_usd + EXCLUDED.saved_usd)
            SELECT request_id, false FROM ins
            UNION ALL SELECT r, true FROM u WHERE NOT EXISTS (SELECT 1 FROM live WHERE live.r = u.r)
            """);
        batch.BatchCommands.Add(cmd);
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
        Add(cmd, NpgsqlDbType.Bigint, records.Select(r => r.Epoch));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.Cache));
        Add(cmd, NpgsqlDbType.Numeric, records.Select(r => r.SavedUsd));
        Add(cmd, NpgsqlDbType.Text, records.Select(r => r.AttemptLog is null ? null : System.Text.Json.JsonSerializer.Serialize(r.AttemptLog, LedgerJson.Default.IReadOnlyListLedgerAttempt)));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken); // past the locks' count
        while (await reader.ReadAsync(cancellationToken))
        {
            (reader.GetBoolean(1) ? fenced : inserted).Add(reader.GetString(0));
        }

        return (inserted, fenced);
    }

    private static void Add<T>(NpgsqlBatchCommand cmd, NpgsqlDbType type, IEnumerable<T> values) =>
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
        Cache = r.IsDBNull(30) ? null : r.GetString(30),
        SavedUsd = r.GetDecimal(31),
        AttemptLog = r.IsDBNull(32) ? null : System.Text.Json.JsonSerializer.Deserialize(r.GetString(32), LedgerJson.Default.IReadOnlyListLedgerAttempt),
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

        await using var cmd = _source.CreateCommand("SELECT request_id FROM llm_call_ids WHERE request_id = ANY($1)");
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

    /// <summary>Creates partitions ahead and applies retention at start and every <see cref="PostgresLedgerOptions.MaintenanceInterval"/>.</summary>
    private async Task MaintenanceLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var now = _options.TimeProvider.GetUtcNow();
                if (_options.PartitionsAhead is { } ahead)
                {
                    await EnsurePartitionsAsync(now + ahead, _stop.Token);
                }

                if (_options.RetainMonths is { } months)
                {
                    await DropPartitionsBeforeAsync(RetentionHorizon(now, months), _stop.Token);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                LogMaintenanceFailed(_logger, ex.Message);
            }

            await Task.Delay(_options.MaintenanceInterval, _options.TimeProvider, _stop.Token);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger: retention dropped partition {Partition} (export: {Export})")]
    private static partial void LogPartitionDropped(ILogger logger, string partition, string export);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger: partition maintenance failed ({Reason}); will retry")]
    private static partial void LogMaintenanceFailed(ILogger logger, string reason);

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
