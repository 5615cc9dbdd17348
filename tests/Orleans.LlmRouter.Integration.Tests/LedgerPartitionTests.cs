using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Integration.Tests;

[CollectionDefinition(Name)]
public sealed class LedgerPartitionCollection : ICollectionFixture<PostgresDatabase>
{
    public const string Name = "postgres-partitions";
}

/// <summary>
/// The ledger partitioned by time (issue 33): partitions across a boundary and ahead of time, the upgrade from the
/// unpartitioned table, rollups equal to their rows, retention by whole partitions. Own database (retention drops
/// partitions); the migration and retention tests make a database of their own too.
/// </summary>
[Collection(LedgerPartitionCollection.Name)]
public sealed class LedgerPartitionTests(PostgresDatabase db)
{
    private static LedgerRecord Row(string tenant, long seq, DateTimeOffset at, string model = "m1", string provider = "p1", long prompt = 10, long completion = 5, decimal cost = 0.001m, bool success = true, string? project = null, string? key = null) => new()
    {
        ProjectId = project,
        KeyId = key,
        RequestId = $"{tenant}-{seq}-{Guid.NewGuid():N}",
        TenantId = tenant,
        TenantSeq = seq,
        Provider = provider,
        Model = model,
        Action = "chat",
        PromptTokens = prompt,
        CompletionTokens = completion,
        CachedTokens = seq % 3,
        ReasoningTokens = seq % 5,
        CostUsd = cost,
        Success = success,
        Attempts = 1,
        StartedAt = at,
        CompletedAt = at,
    };

    private static PostgresLedger Ledger(string connectionString, TimeProvider? clock = null, TimeSpan? ahead = null, string? export = null) =>
        new(new PostgresLedgerOptions(connectionString)
        {
            SpoolDirectory = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName,
            ReplayInterval = TimeSpan.FromHours(1),
            TimeProvider = clock ?? TimeProvider.System,
            PartitionsAhead = ahead,
            RetentionExportDirectory = export,
        }, NullLogger<PostgresLedger>.Instance);

    /// <summary>Rollup rows that differ from the sums of their rows (either way), for the tenants in $1.</summary>
    private const string Mismatches = """
        WITH raw AS (
            SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date AS day, model, provider, project_id, key_id, count(*) AS calls, count(*) FILTER (WHERE NOT success) AS failed,
                   sum(prompt_tokens) AS pt, sum(completion_tokens) AS ct, sum(cached_tokens) AS cch, sum(reasoning_tokens) AS rt, sum(cost_usd) AS cost
            FROM llm_calls WHERE tenant_id = ANY($1) GROUP BY 1, 2, 3, 4, 5, 6),
        roll AS (
            SELECT tenant_id, day, model, provider, project_id, key_id, calls, failed, prompt_tokens AS pt, completion_tokens AS ct, cached_tokens AS cch, reasoning_tokens AS rt, cost_usd AS cost
            FROM llm_usage_daily WHERE tenant_id = ANY($1))
        SELECT count(*) FROM ((SELECT * FROM raw EXCEPT SELECT * FROM roll) UNION ALL (SELECT * FROM roll EXCEPT SELECT * FROM raw)) AS d
        """;

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql, params object[] args)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.Parameters.AddWithValue(arg);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<LedgerRecord>> ReadAllAsync(PostgresLedger ledger, string tenant)
    {
        var rows = new List<LedgerRecord>();
        await foreach (var r in ledger.ReadAfterAsync(tenant, long.MinValue, TestContext.Current.CancellationToken))
        {
            rows.Add(r);
        }

        return rows;
    }

    [Fact]
    public async Task Inserts_across_a_month_boundary_land_in_their_partitions_and_the_catch_up_read_spans_them()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger(db.ConnectionString);
        await ledger.EnsurePartitionsAsync(new DateTimeOffset(2031, 2, 10, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(0, await ledger.EnsurePartitionsAsync(new DateTimeOffset(2031, 2, 10, 0, 0, 0, TimeSpan.Zero))); // idempotent
        var tenant = "edge-" + Guid.NewGuid().ToString("N")[..8];
        var boundary = new DateTimeOffset(2031, 2, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = new[]
        {
            Row(tenant, 1, boundary.AddDays(-1)),
            Row(tenant, 2, boundary.AddTicks(-10)), // the last microsecond of January
            Row(tenant, 3, boundary),               // the first instant of February
            Row(tenant, 4, boundary.AddHours(5)),
        };
        var appended = await Task.WhenAll(rows.Select(r => ledger.AppendAsync(r).AsTask()));
        Assert.All(appended, Assert.True);
        Assert.False(await ledger.AppendAsync(rows[2] with { CostUsd = 9m })); // billed once across partitions too

        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_p203101 WHERE tenant_id = $1", tenant));
        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_p203102 WHERE tenant_id = $1", tenant));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_default WHERE tenant_id = $1", tenant));

        var read = await ReadAllAsync(ledger, tenant);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, read.Select(r => r.TenantSeq));
        Assert.Equal(new long[] { 3, 4 }, (await ToListAsync(ledger.ReadAfterAsync(tenant, 2, TestContext.Current.CancellationToken))).Select(r => r.TenantSeq));

        var report = await ledger.ReportAsync(new UsageQuery(tenant) { From = boundary.AddDays(-1), To = boundary.AddDays(1) }, TestContext.Current.CancellationToken);
        Assert.Equal(4, report.Totals.Calls);
        Assert.Equal([new DateOnly(2031, 1, 31), new DateOnly(2031, 2, 1)], report.Days.Select(d => d.Day));
    }

    [Fact]
    public async Task Partitions_are_created_ahead_of_time_and_a_row_without_one_is_moved_into_the_partition_made_for_it()
    {
        db.RequireOrSkip();
        var clock = new FakeTimeProvider(new DateTimeOffset(2033, 5, 20, 12, 0, 0, TimeSpan.Zero));
        await using var ledger = Ledger(db.ConnectionString, clock, ahead: TimeSpan.FromDays(62));
        var tenant = "ahead-" + Guid.NewGuid().ToString("N")[..8];

        // At start the maintenance makes this month and the next two (through 2033-07-21).
        await WaitUntilAsync(async () => await db.ScalarAsync<bool>("SELECT to_regclass('llm_calls_p203307') IS NOT NULL"));
        Assert.True(await db.ScalarAsync<bool>("SELECT to_regclass('llm_calls_p203305') IS NOT NULL AND to_regclass('llm_calls_p203306') IS NOT NULL"));
        Assert.False(await db.ScalarAsync<bool>("SELECT to_regclass('llm_calls_p203308') IS NOT NULL"));

        // Every day it looks again: as the days pass, August exists before anything is written for it. (The clock moves a
        // day per poll, so whenever the loop registers its next daily wake-up, a later poll fires it.)
        await WaitUntilAsync(async () =>
        {
            clock.Advance(TimeSpan.FromDays(1));
            return await db.ScalarAsync<bool>("SELECT to_regclass('llm_calls_p203308') IS NOT NULL");
        });
        Assert.True(clock.GetUtcNow() < new DateTimeOffset(2033, 8, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.True(await ledger.AppendAsync(Row(tenant, 1, new DateTimeOffset(2033, 8, 3, 0, 0, 0, TimeSpan.Zero))));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_p203308 WHERE tenant_id = $1", tenant));

        // A row for a period nobody made a partition for is not refused: it waits in the default partition, and the
        // maintenance moves it into the partition it makes for it (rollup and request id unchanged).
        var stray = Row(tenant, 2, new DateTimeOffset(2034, 3, 9, 0, 0, 0, TimeSpan.Zero));
        Assert.True(await ledger.AppendAsync(stray));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_default WHERE tenant_id = $1", tenant));
        Assert.True(await ledger.EnsurePartitionsAsync(new DateTimeOffset(2034, 3, 9, 0, 0, 0, TimeSpan.Zero)) >= 1);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_default WHERE tenant_id = $1", tenant));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_p203403 WHERE tenant_id = $1", tenant));
        Assert.False(await ledger.AppendAsync(stray));
        Assert.Equal(new long[] { 1, 2 }, (await ReadAllAsync(ledger, tenant)).Select(r => r.TenantSeq));
        Assert.Equal(2, (await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken)).Totals.Calls);
    }

    [Fact]
    public async Task Rollups_equal_the_sums_of_their_rows_after_concurrent_writes_from_several_ledgers()
    {
        db.RequireOrSkip();
        var day = new DateTimeOffset(2031, 6, 10, 0, 0, 0, TimeSpan.Zero);
        var tenants = Enumerable.Range(0, 4).Select(i => $"roll{i}-" + Guid.NewGuid().ToString("N")[..6]).ToArray();
        await using var a = Ledger(db.ConnectionString);
        await a.EnsurePartitionsAsync(day.AddDays(40));
        await using var b = Ledger(db.ConnectionString);
        await using var c = Ledger(db.ConnectionString);
        PostgresLedger[] silos = [a, b, c];

        // 1,200 rows over two days, two models and two providers, from three ledgers at once (as three silos would),
        // and each row appended twice (a retry): the second must change nothing.
        var rows = Enumerable.Range(1, 1200).Select(i => Row(tenants[i % tenants.Length], i, day.AddMinutes(i * 2.3), model: i % 2 == 0 ? "m1" : "m2",
            provider: i % 3 == 0 ? "p1" : "p2", prompt: i, completion: i % 7, cost: 0.0000001m * i, success: i % 11 != 0,
            project: i % 5 == 0 ? null : "proj" + (i % 2), key: i % 4 == 0 ? null : "key" + (i % 3))).ToArray();
        var results = await Task.WhenAll(rows.Select((r, i) => Task.Run(async () =>
        {
            var first = await silos[i % 3].AppendAsync(r);
            var again = await silos[(i + 1) % 3].AppendAsync(r);
            return (first, again);
        })));
        Assert.All(results, r => Assert.True(r.first && !r.again));

        Assert.Equal(0L, await db.ScalarAsync<long>(Mismatches, (object)tenants));
        Assert.Equal(1200L, await db.ScalarAsync<long>("SELECT sum(calls)::bigint FROM llm_usage_daily WHERE tenant_id = ANY($1)", (object)tenants));

        // The report (rollups for whole days, rows for the partial edges) equals the rows.
        foreach (var tenant in tenants)
        {
            var query = new UsageQuery(tenant) { From = day.AddHours(7), To = day.AddDays(1).AddHours(9) };
            var report = await a.ReportAsync(query, TestContext.Current.CancellationToken);
            var expected = rows.Where(r => r.TenantId == tenant && r.CompletedAt >= query.From && r.CompletedAt < query.To).ToList();
            Assert.Equal(expected.Count, report.Totals.Calls);
            Assert.Equal(expected.Sum(r => r.PromptTokens), report.Totals.PromptTokens);
            Assert.Equal(expected.Sum(r => r.CostUsd), report.Totals.CostUsd);
            Assert.Equal(expected.Count(r => !r.Success), report.Totals.FailedCalls);
            var whole = await a.ReportAsync(new UsageQuery(tenant) { Model = "m1" }, TestContext.Current.CancellationToken);
            Assert.Equal(rows.Count(r => r.TenantId == tenant && r.Model == "m1"), whole.Totals.Calls);
        }
    }

    [Fact]
    public async Task The_migration_moves_an_unpartitioned_ledger_with_its_rows_into_partitions_and_is_idempotent()
    {
        db.RequireOrSkip();
        await using var old = new ScratchDatabase();
        await old.CreateAsync();
        // The schema before 016 (001..015): an unpartitioned llm_calls with its unique request id and the level columns.
        await old.ApplyAsync(f => string.CompareOrdinal(Path.GetFileName(f), "016") < 0);
        Assert.Equal("r", await ScalarAsync<string>(old.ConnectionString, "SELECT relkind::text FROM pg_class WHERE oid = 'llm_calls'::regclass"));
        await ScalarAsync<int>(old.ConnectionString, """
            WITH i AS (
                INSERT INTO llm_calls (request_id, tenant_id, tenant_seq, provider, model, prompt_tokens, completion_tokens, cost_usd, success, completed_at, run_id, tags, latency_ms, project_id, key_id)
                SELECT 'old-' || g, 't' || (g % 3), g, 'p1', 'm' || (g % 2), g, 1, 0.001, g % 10 <> 0, timestamptz '2026-01-15 00:00+00' + g * interval '1 day', 'run' || (g % 4), ARRAY['x'], 5,
                       CASE WHEN g % 3 = 0 THEN 'pj' END, CASE WHEN g % 4 = 0 THEN 'k' || (g % 8) END
                FROM generate_series(1, 400) g RETURNING 1)
            SELECT count(*)::int FROM i
            """);
        var sums = await ScalarAsync<string>(old.ConnectionString, "SELECT count(*) || '/' || sum(prompt_tokens) || '/' || sum(cost_usd) || '/' || max(seq) FROM llm_calls");

        await old.ApplyAsync(_ => true);
        await old.ApplyAsync(_ => true); // idempotent on the partitioned table with rows

        Assert.Equal("p", await ScalarAsync<string>(old.ConnectionString, "SELECT relkind::text FROM pg_class WHERE oid = 'llm_calls'::regclass"));
        Assert.Equal(sums, await ScalarAsync<string>(old.ConnectionString, "SELECT count(*) || '/' || sum(prompt_tokens) || '/' || sum(cost_usd) || '/' || max(seq) FROM llm_calls"));
        Assert.Equal(400L, await ScalarAsync<long>(old.ConnectionString, "SELECT count(*) FROM llm_call_ids"));
        Assert.Equal(400L, await ScalarAsync<long>(old.ConnectionString, "SELECT sum(calls)::bigint FROM llm_usage_daily"));
        Assert.Equal(0L, await ScalarAsync<long>(old.ConnectionString, Mismatches, (object)new[] { "t0", "t1", "t2" }));
        Assert.Equal(0L, await ScalarAsync<long>(old.ConnectionString, "SELECT count(*) FROM llm_calls_default"));
        Assert.False(await ScalarAsync<bool>(old.ConnectionString, "SELECT to_regclass('llm_calls_unpartitioned') IS NOT NULL"));
        // 400 days from 2026-01-16: monthly partitions from January 2026 to February 2027, each with the eleven indexes
        // of 010, 013 and 015.
        Assert.Equal(1L, await ScalarAsync<long>(old.ConnectionString, "SELECT count(*) FROM llm_calls_p202601 WHERE request_id = 'old-1'"));
        Assert.Equal(0L, await ScalarAsync<long>(old.ConnectionString, """
            SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'llm_calls'::regclass AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = c.oid) <> 11
            """));

        // The sequence carries on, and the ledger writes on: a migrated id is still billed once.
        await using var ledger = Ledger(old.ConnectionString);
        var again = Row("t1", 1, new DateTimeOffset(2026, 1, 16, 0, 0, 0, TimeSpan.Zero)) with { RequestId = "old-1" };
        Assert.False(await ledger.AppendAsync(again));
        Assert.True(await ledger.AppendAsync(Row("t1", 1000, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))));
        Assert.True(await ScalarAsync<long>(old.ConnectionString, "SELECT max(seq) FROM llm_calls") > 400);
        Assert.Equal(135, (await ReadAllAsync(ledger, "t1")).Count);
    }

    [Fact]
    public async Task Retention_drops_whole_partitions_after_exporting_them_and_reports_the_audit_and_a_full_recount_keep_their_totals()
    {
        db.RequireOrSkip();
        await using var scratch = new ScratchDatabase();
        await scratch.CreateAsync();
        await scratch.ApplyAsync(_ => true);
        var export = Directory.CreateTempSubdirectory("llmrouter-export-").FullName;
        // Today is 2029-04-17: closed days are audited from rollups, today from rows.
        await using var ledger = Ledger(scratch.ConnectionString, new FakeTimeProvider(new DateTimeOffset(2029, 4, 17, 8, 0, 0, TimeSpan.Zero)), export: export);
        var jan = new DateTimeOffset(2029, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await ScalarAsync<int>(scratch.ConnectionString, "SELECT llm_ledger_ensure_partitions($1, $2)", jan.AddMonths(4).UtcDateTime, jan.UtcDateTime);
        var tenant = "ret";
        var rows = Enumerable.Range(1, 90).Select(i => Row(tenant, i, jan.AddDays(i - 1).AddHours(3), model: i % 2 == 0 ? "m1" : "m2", prompt: i, cost: 0.01m * i) with { RunId = i > 80 ? "late" : null }).ToArray();
        foreach (var chunk in rows.Chunk(30))
        {
            Assert.All(await Task.WhenAll(chunk.Select(r => ledger.AppendAsync(r).AsTask())), Assert.True);
        }

        BalanceWindow[] windows =
        [
            new("lifetime", null, null, null),
            new("month", "2029-01", jan, jan.AddMonths(1)),
            new("month", "2029-03", jan.AddMonths(2), jan.AddMonths(3)),
            new("day", "2029-03-05", new DateTimeOffset(2029, 3, 5, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2029, 3, 6, 0, 0, 0, TimeSpan.Zero)),
            // Windows of a tenant at UTC+05:00: partial UTC days at both edges are read from rows.
            new("month", "2029-03@+05", new DateTimeOffset(2029, 3, 1, 0, 0, 0, TimeSpan.FromHours(5)), new DateTimeOffset(2029, 4, 1, 0, 0, 0, TimeSpan.FromHours(5))),
            new("week", "2029-03-04@+05", new DateTimeOffset(2029, 3, 4, 2, 0, 0, TimeSpan.FromHours(5)), new DateTimeOffset(2029, 3, 11, 2, 0, 0, TimeSpan.FromHours(5))),
        ];
        var before = await ledger.BalanceAsync(tenant, windows, TestContext.Current.CancellationToken);
        foreach (var (w, b) in windows.Zip(before.Windows))
        {
            var inside = rows.Where(r => (w.From is null || r.CompletedAt >= w.From) && (w.To is null || r.CompletedAt < w.To)).ToList();
            Assert.Equal(new WindowBalance(w.Window, w.Key, inside.Count, inside.Sum(r => r.TotalTokens), inside.Sum(r => r.CostUsd)), b);
        }

        var recountBefore = await ReadAllAsync(ledger, tenant);
        Assert.Equal(90, recountBefore.Count);
        var reportBefore = await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken);
        var janBefore = await ledger.ReportAsync(new UsageQuery(tenant) { From = jan, To = jan.AddMonths(1) }, TestContext.Current.CancellationToken);

        // Keep from March: January and February go, whole, after their CSV export.
        Assert.Equal(jan.AddMonths(2), PostgresLedger.RetentionHorizon(new DateTimeOffset(2029, 4, 17, 8, 0, 0, TimeSpan.Zero), 1));
        var dropped = await ledger.DropPartitionsBeforeAsync(jan.AddMonths(2));
        Assert.Equal(["llm_calls_p202901", "llm_calls_p202902"], dropped.Where(n => n.StartsWith("llm_calls_p2029", StringComparison.Ordinal)));
        Assert.All(dropped, n => Assert.True(File.Exists(Path.Combine(export, n + ".csv"))));
        Assert.Equal(31 + 1, File.ReadAllLines(Path.Combine(export, "llm_calls_p202901.csv")).Length); // header + rows
        Assert.Equal(28 + 1, File.ReadAllLines(Path.Combine(export, "llm_calls_p202902.csv")).Length);
        Assert.Equal(31L, await ScalarAsync<long>(scratch.ConnectionString, "SELECT count(*) FROM llm_calls WHERE tenant_id = 'ret'"));
        Assert.Equal(31L, await ScalarAsync<long>(scratch.ConnectionString, "SELECT count(*) FROM llm_call_ids"));
        Assert.Empty(await ledger.DropPartitionsBeforeAsync(jan.AddMonths(2))); // nothing left to drop

        var after = await ledger.BalanceAsync(tenant, windows, TestContext.Current.CancellationToken);
        Assert.Equal(before.Windows, after.Windows);
        Assert.Equal(90, after.Windows[0].Rows);
        Assert.Equal(rows.Sum(r => r.CostUsd), after.Windows[0].CostUsd);
        Assert.Equal(reportBefore, await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken), ReportComparer.Instance);
        Assert.Equal(janBefore, await ledger.ReportAsync(new UsageQuery(tenant) { From = jan, To = jan.AddMonths(1) }, TestContext.Current.CancellationToken), ReportComparer.Instance);

        // A budget grain's full recount (from before every position) still sums every row ever written: the dropped
        // months come as rollup records at position 0, then the rows kept; a catch-up from a position reads rows only.
        var recount = await ReadAllAsync(ledger, tenant);
        Assert.Equal(59, recount.Count(r => r.Kind == LedgerRecord.RollupKind)); // one per day and model: a row a day
        Assert.All(recount.Where(r => r.Kind == LedgerRecord.RollupKind), r => Assert.Equal(0, r.TenantSeq));
        Assert.Equal(recountBefore.Sum(r => r.TotalTokens), recount.Sum(r => r.TotalTokens));
        Assert.Equal(recountBefore.Sum(r => r.CostUsd), recount.Sum(r => r.CostUsd));
        Assert.Equal(90L, recount.Max(r => r.TenantSeq));
        Assert.Equal(Enumerable.Range(60, 31).Select(i => (long)i), (await ToListAsync(ledger.ReadAfterAsync(tenant, 0, TestContext.Current.CancellationToken))).Select(r => r.TenantSeq));
    }

    private static async Task<List<LedgerRecord>> ToListAsync(IAsyncEnumerable<LedgerRecord> source)
    {
        var list = new List<LedgerRecord>();
        await foreach (var r in source)
        {
            list.Add(r);
        }

        return list;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }

    private sealed class ReportComparer : IEqualityComparer<UsageReport>
    {
        public static readonly ReportComparer Instance = new();

        public bool Equals(UsageReport? x, UsageReport? y) =>
            x is not null && y is not null && x.Totals == y.Totals && x.Days.SequenceEqual(y.Days);

        public int GetHashCode(UsageReport obj) => obj.Totals.GetHashCode();
    }

    /// <summary>A database of its own (created from <c>LLMROUTER_POSTGRES</c>, dropped afterwards), schema applied as the test says.</summary>
    private sealed class ScratchDatabase : IAsyncDisposable
    {
        private readonly string _name = "llmrouter_scratch_" + Guid.NewGuid().ToString("N")[..12];

        public string ConnectionString { get; private set; } = string.Empty;

        public async Task CreateAsync()
        {
            await using (var admin = new NpgsqlConnection(PostgresDatabase.Configured))
            {
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {_name}", admin);
                await create.ExecuteNonQueryAsync();
            }

            ConnectionString = new NpgsqlConnectionStringBuilder(PostgresDatabase.Configured) { Database = _name, MaxPoolSize = 12 }.ConnectionString;
        }

        public async Task ApplyAsync(Func<string, bool> which)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            foreach (var file in Directory.EnumerateFiles(PostgresDatabase.SchemaDirectory(), "*.sql").Order(StringComparer.Ordinal).Where(which))
            {
                await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(file), connection);
                await command.ExecuteNonQueryAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (ConnectionString.Length == 0)
            {
                return;
            }

            NpgsqlConnection.ClearPool(new NpgsqlConnection(ConnectionString));
            await using var admin = new NpgsqlConnection(PostgresDatabase.Configured);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
