using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Integration.Tests;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresDatabase>
{
    public const string Name = "postgres";
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresLedgerTests(PostgresDatabase db)
{
    private static readonly DateTimeOffset Day = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    private static LedgerRecord Row(string tenant, long seq, string model = "m1", string? action = "chat", string[]? tags = null, DateTimeOffset? at = null, long prompt = 10, long completion = 5, decimal cost = 0.001m) => new()
    {
        RequestId = $"{tenant}-{seq}-{Guid.NewGuid():N}",
        TenantId = tenant,
        TenantSeq = seq,
        Provider = "p1",
        Model = model,
        Action = action,
        Tags = tags ?? [],
        PromptTokens = prompt,
        CompletionTokens = completion,
        CostUsd = cost,
        Success = true,
        Attempts = 1,
        StartedAt = at ?? Day,
        CompletedAt = at ?? Day,
    };

    private PostgresLedger Ledger(string? connectionString = null, LedgerOutageMode mode = LedgerOutageMode.Spool, string? spool = null) =>
        new(new PostgresLedgerOptions(connectionString ?? db.ConnectionString)
        {
            OutageMode = mode,
            SpoolDirectory = spool ?? Directory.CreateTempSubdirectory("llmrouter-spool-").FullName,
            ReplayInterval = TimeSpan.FromHours(1), // replays are triggered explicitly in these tests
        }, NullLogger<PostgresLedger>.Instance);

    [Fact]
    public async Task The_schema_applies_cleanly_and_holds_the_orleans_queries_and_the_ledger()
    {
        db.RequireOrSkip();
        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM orleansquery") >= 10);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = 'nobody'"));
    }

    [Fact]
    public async Task A_catch_up_read_waits_for_an_insert_of_its_tenant_still_in_flight()
    {
        // A budget grain's silo dies with a settle's insert in flight; PostgreSQL commits it a moment later. The grain's
        // next activation must count that row: its catch-up read waits for the insert instead of reading past it.
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "fence-" + Guid.NewGuid().ToString("N")[..8];
        var row = Row(tenant, 1);
        var cancel = TestContext.Current.CancellationToken;

        // Hold the insert in flight: another transaction has the same request id, uncommitted, so the ledger's insert
        // (its tenant lock already taken) waits on the unique index (of llm_call_ids, where "billed once" lives).
        await using var blocker = new NpgsqlConnection(db.ConnectionString);
        await blocker.OpenAsync(cancel);
        await using var tx = await blocker.BeginTransactionAsync(cancel);
        await using (var hold = new NpgsqlCommand("INSERT INTO llm_call_ids (request_id, completed_at) VALUES ($1, now())", blocker, tx))
        {
            hold.Parameters.AddWithValue(row.RequestId);
            await hold.ExecuteNonQueryAsync(cancel);
        }

        var append = ledger.AppendAsync(row).AsTask();
        await WaitForAdvisoryLockAsync(tenant, "ShareLock", granted: true);

        var read = Task.Run(async () =>
        {
            var rows = new List<LedgerRecord>();
            await foreach (var r in ledger.ReadAfterAsync(tenant, 0, cancel))
            {
                rows.Add(r);
            }

            return rows;
        }, cancel);
        await WaitForAdvisoryLockAsync(tenant, "ExclusiveLock", granted: false); // the read waits for the insert
        Assert.False(read.IsCompleted);

        await tx.RollbackAsync(cancel); // the held row goes; the ledger's insert proceeds and commits
        Assert.True(await append);
        var seen = await read;
        Assert.Equal(row.RequestId, Assert.Single(seen).RequestId);
    }

    [Fact]
    public async Task A_fence_refuses_the_appends_of_every_older_writer_and_stores_those_of_the_newest()
    {
        // Rule: once a tenant's fence is raised, a row under an older epoch is refused and leaves nothing behind (not even
        // its request id, so it can be stored again through the newest writer); other tenants and unfenced rows go on.
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var cancel = TestContext.Current.CancellationToken;
        var tenant = "fenced-" + Guid.NewGuid().ToString("N")[..8];
        var other = "unfenced-" + Guid.NewGuid().ToString("N")[..8];
        var older = await ledger.FenceAsync(tenant, cancel);
        var newer = await ledger.FenceAsync(tenant, cancel);
        Assert.True(newer > older);

        // In one group commit: a refused row, a stored row of the same tenant and one of a tenant with no fence.
        var stale = Row(tenant, 1) with { Epoch = older };
        var current = Row(tenant, 2) with { Epoch = newer };
        var elsewhere = Row(other, 1) with { Epoch = older };
        var appends = new[] { stale, current, elsewhere }.Select(r => ledger.AppendAsync(r).AsTask()).ToList();
        await Assert.ThrowsAsync<LedgerFencedException>(() => appends[0]);
        Assert.True(await appends[1]);
        Assert.True(await appends[2]);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE request_id = $1", stale.RequestId));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_call_ids WHERE request_id = $1", stale.RequestId));

        // The refused call, settled again through the newest writer, is stored once; a row with no epoch is not fenced.
        Assert.True(await ledger.AppendAsync(stale with { TenantSeq = 3, Epoch = newer }));
        Assert.True(await ledger.AppendAsync(Row(tenant, 4)));
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task The_in_memory_ledger_fences_its_writers_the_same_way()
    {
        var ledger = new InMemoryLedger();
        var cancel = TestContext.Current.CancellationToken;
        var older = await ledger.FenceAsync("t", cancel);
        var newer = await ledger.FenceAsync("t", cancel);
        Assert.True(newer > older);
        var stale = Row("t", 1) with { Epoch = older };
        await Assert.ThrowsAsync<LedgerFencedException>(() => ledger.AppendAsync(stale).AsTask());
        Assert.True(await ledger.AppendAsync(stale with { Epoch = newer }));
        Assert.True(await ledger.AppendAsync(Row("u", 1) with { Epoch = older }));
        Assert.True(await ledger.AppendAsync(Row("t", 2)));
        Assert.Equal(3, ledger.Count);
    }

    [Fact]
    public async Task An_append_that_waits_on_a_fence_being_raised_is_refused_after_it()
    {
        // Rule: an append whose tenant lock is granted only after a fence was raised reads the new epoch: checked with a
        // snapshot older than the lock, the old writer's row would get in after the new writer's catch-up read.
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var cancel = TestContext.Current.CancellationToken;
        var tenant = "raising-" + Guid.NewGuid().ToString("N")[..8];
        var older = await ledger.FenceAsync(tenant, cancel);

        // An insert of the tenant in flight (its lock held, shared) keeps the next fence waiting.
        await using var inFlight = new NpgsqlConnection(db.ConnectionString);
        await inFlight.OpenAsync(cancel);
        await using var tx = await inFlight.BeginTransactionAsync(cancel);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock_shared(1280070214, hashtext($1))", inFlight, tx))
        {
            hold.Parameters.AddWithValue(tenant);
            await hold.ExecuteNonQueryAsync(cancel);
        }

        var fence = ledger.FenceAsync(tenant, cancel);
        await WaitForAdvisoryLockAsync(tenant, "ExclusiveLock", granted: false);
        var append = ledger.AppendAsync(Row(tenant, 1) with { Epoch = older }).AsTask();
        await WaitForAdvisoryLockAsync(tenant, "ShareLock", granted: false); // queued behind the fence
        Assert.False(fence.IsCompleted);
        Assert.False(append.IsCompleted);

        await tx.CommitAsync(cancel);
        Assert.True(await fence > older);
        await Assert.ThrowsAsync<LedgerFencedException>(() => append);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task A_catch_up_read_during_a_spool_replay_sees_every_row_either_in_the_spool_or_in_the_table()
    {
        // Rule: a record moving from a spool into the table is never invisible to a catch-up read. Forced interleaving:
        // the read's table query runs before the replay's insert commits, and its spool read after the replay has
        // emptied the spool.
        db.RequireOrSkip();
        var cancel = TestContext.Current.CancellationToken;
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        var shared = Directory.CreateTempSubdirectory("llmrouter-shared-spool-").FullName;
        var tenant = "moving-" + Guid.NewGuid().ToString("N")[..8];

        var dead = Ledger(viaProxy, LedgerOutageMode.Spool, shared);
        proxy.Cut();
        Assert.All(await Task.WhenAll(Enumerable.Range(1, 6).Select(i => dead.AppendAsync(Row(tenant, i)).AsTask())), Assert.True);
        await using var survivor = Ledger(db.ConnectionString, LedgerOutageMode.Spool, shared);
        await dead.DisposeAsync(); // its spool is an orphan now, to be adopted by the survivor

        // Hold the tenant's fence so that both the read's table query and the replay's insert queue behind it, the
        // read first.
        await using var holder = new NpgsqlConnection(db.ConnectionString);
        await holder.OpenAsync(cancel);
        await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({0x4c4c5246}, hashtext($1))", holder))
        {
            hold.Parameters.AddWithValue(tenant);
            await hold.ExecuteNonQueryAsync(cancel);
        }

        var read = Task.Run(async () =>
        {
            var rows = new List<long>();
            await foreach (var r in survivor.ReadAfterAsync(tenant, 0, cancel))
            {
                rows.Add(r.TenantSeq);
            }

            return rows;
        }, cancel);
        await WaitForAdvisoryLockAsync(tenant, "ExclusiveLock", granted: false);
        var replay = Task.Run(() => survivor.ReplaySpoolAsync(cancel), cancel);
        await WaitForAdvisoryLockAsync(tenant, "ShareLock", granted: false);

        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({0x4c4c5246}, hashtext($1))", holder))
        {
            release.Parameters.AddWithValue(tenant);
            await release.ExecuteNonQueryAsync(cancel);
        }

        Assert.Equal(6, await replay);
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), await read);
        Assert.Equal(6L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
    }

    /// <summary>Waits (to a generous bound) until pg_locks shows the tenant's fence lock in that mode.</summary>
    private async Task WaitForAdvisoryLockAsync(string tenant, string mode, bool granted)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext($1)::oid AND mode = $2 AND granted = $3",
            tenant, mode, granted) == 0)
        {
            Assert.True(DateTime.UtcNow < until, $"no {(granted ? "granted" : "waiting")} {mode} on the fence of {tenant}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Concurrent_appends_are_group_committed_and_a_request_id_is_billed_once()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "gc-" + Guid.NewGuid().ToString("N")[..8];
        var rows = Enumerable.Range(1, 300).Select(i => Row(tenant, i)).ToList();
        var results = await Task.WhenAll(rows.Select(r => ledger.AppendAsync(r).AsTask()));
        Assert.All(results, Assert.True);
        Assert.False(await ledger.AppendAsync(rows[0] with { TenantSeq = 999 }));
        Assert.Equal(300L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));

        var after = new List<LedgerRecord>();
        await foreach (var r in ledger.ReadAfterAsync(tenant, 295, TestContext.Current.CancellationToken))
        {
            after.Add(r);
        }

        Assert.Equal([296L, 297, 298, 299, 300], after.Select(r => r.TenantSeq));
        Assert.Equal(rows[299].CostUsd, after[^1].CostUsd);
    }

    [Fact]
    public async Task The_same_request_id_appended_concurrently_from_many_callers_is_billed_once()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "dup-" + Guid.NewGuid().ToString("N")[..8];
        var others = Enumerable.Range(1, 200).Select(i => Row(tenant, i));
        var twin = Row(tenant, 1000);
        // The twin is appended 40 times among 200 other rows, so its copies land in different concurrent group commits.
        var appends = others.SelectMany((r, i) => i % 5 == 0 ? new[] { r, twin with { TenantSeq = 1000 + i } } : new[] { r })
            .Select(r => ledger.AppendAsync(r).AsTask()).ToList();
        var results = await Task.WhenAll(appends);
        Assert.Equal(201, results.Count(ok => ok));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE request_id = $1", twin.RequestId));
    }

    [Fact]
    public async Task Usage_reports_filter_by_time_model_provider_action_and_tag_with_a_daily_breakdown()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "rep-" + Guid.NewGuid().ToString("N")[..8];
        await ledger.AppendAsync(Row(tenant, 1, model: "a", tags: ["blue"], at: Day));
        await ledger.AppendAsync(Row(tenant, 2, model: "a", tags: ["red", "blue"], at: Day.AddDays(1), cost: 0.01m));
        await ledger.AppendAsync(Row(tenant, 3, model: "b", action: "embed", at: Day.AddDays(1)));

        var all = await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken);
        Assert.Equal(3, all.Totals.Calls);
        Assert.Equal(0.012m, all.Totals.CostUsd);
        Assert.Equal([new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 21)], all.Days.Select(d => d.Day));

        Assert.Equal(2, (await ledger.ReportAsync(new UsageQuery(tenant) { Model = "a" }, TestContext.Current.CancellationToken)).Totals.Calls);
        Assert.Equal(2, (await ledger.ReportAsync(new UsageQuery(tenant) { Tag = "blue" }, TestContext.Current.CancellationToken)).Totals.Calls);
        Assert.Equal(1, (await ledger.ReportAsync(new UsageQuery(tenant) { Action = "embed" }, TestContext.Current.CancellationToken)).Totals.Calls);
        Assert.Equal(0, (await ledger.ReportAsync(new UsageQuery(tenant) { Provider = "other" }, TestContext.Current.CancellationToken)).Totals.Calls);
        Assert.Equal(2, (await ledger.ReportAsync(new UsageQuery(tenant) { From = Day.AddHours(12) }, TestContext.Current.CancellationToken)).Totals.Calls);
        Assert.Equal(1, (await ledger.ReportAsync(new UsageQuery(tenant) { To = Day.AddHours(12) }, TestContext.Current.CancellationToken)).Totals.Calls);

        var tagged = new List<LedgerRecord>();
        await foreach (var r in ledger.QueryAsync(new UsageQuery(tenant) { Tag = "red" }, TestContext.Current.CancellationToken))
        {
            tagged.Add(r);
        }

        Assert.Equal(["red", "blue"], Assert.Single(tagged).Tags);
    }

    [Fact]
    public async Task During_an_outage_records_are_spooled_durably_and_replayed_without_loss()
    {
        db.RequireOrSkip();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        var spool = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName;
        await using var ledger = Ledger(viaProxy, LedgerOutageMode.Spool, spool);
        var tenant = "out-" + Guid.NewGuid().ToString("N")[..8];

        Assert.True(await ledger.AppendAsync(Row(tenant, 1)));
        proxy.Cut();
        var during = Enumerable.Range(2, 20).Select(i => Row(tenant, i)).ToList();
        Assert.All(await Task.WhenAll(during.Select(r => ledger.AppendAsync(r).AsTask())), Assert.True);
        Assert.Equal(20, ledger.SpooledCount);
        Assert.True(Directory.EnumerateFiles(spool).Any(f => new FileInfo(f).Length > 0), "the spool is on disk");

        // Catch-up reads see spooled records even before the replay.
        var seen = new List<long>();
        proxy.Restore();
        await foreach (var r in ledger.ReadAfterAsync(tenant, 0, TestContext.Current.CancellationToken))
        {
            seen.Add(r.TenantSeq);
        }

        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), seen);
        Assert.Equal(20, await ledger.ReplaySpoolAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, ledger.SpooledCount);
        Assert.Equal(21L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task Ledger_metrics_report_commit_batches_latency_and_the_spool_depth_during_an_outage()
    {
        db.RequireOrSkip();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        await using var ledger = Ledger(viaProxy, LedgerOutageMode.Spool);
        var batches = new System.Collections.Concurrent.ConcurrentQueue<(int Rows, bool Spooled)>();
        var durations = new System.Collections.Concurrent.ConcurrentQueue<double>();
        var gauges = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter == ledger.Metrics.Meter)
            {
                l.EnableMeasurementEvents(i);
            }
        };
        bool? spooledTag = null;
        listener.SetMeasurementEventCallback<double>((_, v, tags, _) =>
        {
            durations.Enqueue(v);
            foreach (var t in tags)
            {
                spooledTag = t.Key == "llmrouter.ledger.spooled" ? (bool?)t.Value : spooledTag;
            }
        });
        listener.SetMeasurementEventCallback<int>((i, v, _, _) =>
        {
            if (i.Name == "llmrouter.ledger.commit.batch_size")
            {
                batches.Enqueue((v, spooledTag ?? false));
            }
            else
            {
                lock (gauges)
                {
                    gauges[i.Name] = v;
                }
            }
        });
        listener.SetMeasurementEventCallback<long>((i, v, _, _) =>
        {
            lock (gauges)
            {
                gauges[i.Name] = v;
            }
        });
        listener.Start();
        var tenant = "met-" + Guid.NewGuid().ToString("N")[..8];

        Assert.True(await ledger.AppendAsync(Row(tenant, 1)));
        proxy.Cut();
        Assert.All(await Task.WhenAll(Enumerable.Range(2, 7).Select(i => ledger.AppendAsync(Row(tenant, i)).AsTask())), Assert.True);
        listener.RecordObservableInstruments();

        Assert.Equal(8, batches.Sum(b => b.Rows)); // every row went through a group commit
        Assert.Equal(batches.Count, durations.Count);
        Assert.All(durations, d => Assert.True(d >= 0));
        Assert.Equal(7L, gauges["llmrouter.ledger.spool.depth"]);
        Assert.Equal(0L, gauges["llmrouter.ledger.quarantined"]);
        Assert.True(spooledTag);
    }

    [Fact]
    public async Task Fail_closed_mode_refuses_to_confirm_a_record_it_could_not_store()
    {
        db.RequireOrSkip();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        await using var ledger = Ledger(viaProxy, LedgerOutageMode.FailClosed);
        var tenant = "fc-" + Guid.NewGuid().ToString("N")[..8];
        proxy.Cut();
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.AppendAsync(Row(tenant, 1)).AsTask());
        proxy.Restore();
        Assert.True(await ledger.AppendAsync(Row(tenant, 2)));
    }
    [Fact]
    public async Task A_row_postgresql_rejects_for_its_data_is_quarantined_and_the_rest_of_its_batch_is_stored()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "qb-" + Guid.NewGuid().ToString("N")[..8];
        var warm = Enumerable.Range(100, 8).Select(i => Row(tenant + "-warm", i)).ToList();
        foreach (var r in warm)
        {
            Assert.True(await ledger.AppendAsync(r)); // one batch each: the group-commit statement is auto-prepared by now
        }

        var good = Enumerable.Range(1, 40).Select(i => Row(tenant, i)).ToList();
        var bad = Row(tenant, 41) with { Model = "bad\u0000model" }; // PostgreSQL text refuses NUL: SQLSTATE 22021
        var results = await Task.WhenAll(good.Take(20).Append(bad).Concat(good.Skip(20)).Select(r => ledger.AppendAsync(r).AsTask()));

        Assert.All(results, Assert.True); // the quarantined row counts as recorded: its call was delivered
        Assert.Equal(40L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.Equal(0, ledger.SpooledCount);
        Assert.Equal("22021", await db.ScalarAsync<string>("SELECT sqlstate FROM llm_calls_quarantine WHERE request_id = $1", bad.RequestId));
        Assert.False(await ledger.AppendAsync(bad)); // billed once, also when it comes again
        Assert.True(await ledger.AppendAsync(Row(tenant, 42)));
        Assert.Equal(41L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));

        var report = await ledger.QuarantineAsync(cancellationToken: TestContext.Current.CancellationToken);
        var row = Assert.Single(report.Rows, r => r.RequestId == bad.RequestId);
        Assert.Equal("postgres", row.Location);
        Assert.Equal("bad\u0000model", row.Record!.Model); // kept whole, NUL and all
        Assert.Equal(1, report.QuarantinedByThisProcess);

        // Catch-up reads and audits include it, so the budget counters that counted it stay equal to the ledger.
        var seqs = new List<long>();
        await foreach (var r in ledger.ReadAfterAsync(tenant, 40, TestContext.Current.CancellationToken))
        {
            seqs.Add(r.TenantSeq);
        }

        Assert.Equal([41L, 42], seqs);
        var balance = await ledger.BalanceAsync(tenant, [new BalanceWindow("lifetime", null, null, null)], TestContext.Current.CancellationToken);
        Assert.Equal(42, balance.Windows[0].Rows);
        Assert.Equal(1, balance.QuarantinedRows);
    }

    [Fact]
    public async Task A_spooled_row_postgresql_rejects_for_its_data_does_not_block_the_replay_of_the_others()
    {
        db.RequireOrSkip();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        await using var ledger = Ledger(viaProxy);
        var tenant = "qs-" + Guid.NewGuid().ToString("N")[..8];
        proxy.Cut();
        var rows = Enumerable.Range(1, 10).Select(i => Row(tenant, i)).ToList();
        rows[4] = rows[4] with { RunId = "run\u0000" };
        rows[7] = rows[7] with { CostUsd = 1e12m }; // over numeric(20,10): SQLSTATE 22003
        Assert.All(await Task.WhenAll(rows.Select(r => ledger.AppendAsync(r).AsTask())), Assert.True);
        Assert.Equal(10, ledger.SpooledCount);

        proxy.Restore();
        await ledger.ReplaySpoolAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, ledger.SpooledCount);
        Assert.Equal(8L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls_quarantine WHERE tenant_id = $1", tenant));
        Assert.Equal("22003", await db.ScalarAsync<string>("SELECT sqlstate FROM llm_calls_quarantine WHERE request_id = $1", rows[7].RequestId));
    }
    [Fact]
    public async Task The_spool_of_a_ledger_instance_that_is_gone_is_replayed_by_another_once_and_not_while_its_owner_lives()
    {
        db.RequireOrSkip();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 3 }.ConnectionString;
        var shared = Directory.CreateTempSubdirectory("llmrouter-shared-spool-").FullName; // the cluster's shared volume
        var tenant = "dead-" + Guid.NewGuid().ToString("N")[..8];
        var rows = Enumerable.Range(1, 15).Select(i => Row(tenant, i)).ToList();

        var dead = Ledger(viaProxy, LedgerOutageMode.Spool, shared);
        var deadFile = dead.SpoolFile;
        proxy.Cut(); // PostgreSQL unreachable for this silo: its rows go to its spool
        Assert.All(await Task.WhenAll(rows.Select(r => dead.AppendAsync(r).AsTask())), Assert.True);
        Assert.Equal(15, dead.SpooledCount);

        await using var survivor = Ledger(db.ConnectionString, LedgerOutageMode.Spool, shared);
        Assert.Equal(0, await survivor.ReplaySpoolAsync(TestContext.Current.CancellationToken)); // the owner lives: its locked file is not touched
        Assert.True(File.Exists(deadFile));

        await dead.DisposeAsync(); // the silo is gone; its spool stays on the shared volume, its lock is released
        Assert.True(new FileInfo(deadFile).Length > 0);

        // A budget grain reactivated on the survivor catches up with the dead silo's spooled rows at once.
        var seen = new List<long>();
        await foreach (var r in survivor.ReadAfterAsync(tenant, 0, TestContext.Current.CancellationToken))
        {
            seen.Add(r.TenantSeq);
        }

        Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), seen);
        Assert.Equal(15, await survivor.ReplaySpoolAsync(TestContext.Current.CancellationToken));
        Assert.False(File.Exists(deadFile));
        Assert.Equal(15L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.False(await survivor.AppendAsync(rows[3])); // billed once
        Assert.Equal(0, await survivor.ReplaySpoolAsync(TestContext.Current.CancellationToken));
        Assert.Equal(15L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));

        // The dead silo's rows are rolled up once, by the replay that stored them (issue 33).
        Assert.Equal(
            await db.ScalarAsync<string>("SELECT count(*) || '/' || sum(prompt_tokens) || '/' || sum(cost_usd)::numeric(30, 10) FROM llm_calls WHERE tenant_id = $1", tenant),
            await db.ScalarAsync<string>("SELECT sum(calls) || '/' || sum(prompt_tokens) || '/' || sum(cost_usd) FROM llm_usage_daily WHERE tenant_id = $1", tenant));
    }

    [Fact]
    public async Task A_spool_file_left_by_a_crashed_process_is_replayed_at_start_and_a_torn_last_line_is_skipped()
    {
        db.RequireOrSkip();
        var shared = Directory.CreateTempSubdirectory("llmrouter-shared-spool-").FullName;
        var tenant = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var rows = Enumerable.Range(1, 3).Select(i => Row(tenant, i)).ToList();
        var left = Path.Combine(shared, "ledger-spool-crashed-4242.ndjson");
        var torn = System.Text.Json.JsonSerializer.Serialize(Row(tenant, 4), LedgerJson.Default.LedgerRecord)[..40];
        await File.WriteAllTextAsync(left, string.Join('\n', rows.Select(r => System.Text.Json.JsonSerializer.Serialize(r, LedgerJson.Default.LedgerRecord))) + "\n" + torn, TestContext.Current.CancellationToken);

        await using var ledger = Ledger(spool: shared);
        await ledger.ReplaySpoolAsync(TestContext.Current.CancellationToken); // also done at start, in the background
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.False(File.Exists(left));
        Assert.Equal(0, ledger.SpooledCount);
    }

    [Fact]
    public async Task Cache_write_tokens_estimated_usage_and_the_deployment_are_stored_read_back_and_totalled()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "cw-" + Guid.NewGuid().ToString("N")[..8];
        await ledger.AppendAsync(Row(tenant, 1) with { CacheWriteTokens = 300, CacheWrite1hTokens = 100, ReasoningTokens = 7, Deployment = "eu-2" });
        await ledger.AppendAsync(Row(tenant, 2) with { UsageEstimated = true, CacheWriteTokens = 20 });
        Assert.Equal(320L, await db.ScalarAsync<long>("SELECT sum(cache_write_tokens)::bigint FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.Equal(100L, await db.ScalarAsync<long>("SELECT sum(cache_write_1h_tokens)::bigint FROM llm_calls WHERE tenant_id = $1", tenant));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1 AND usage_estimated", tenant));

        var read = new List<LedgerRecord>();
        await foreach (var r in ledger.QueryAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken))
        {
            read.Add(r);
        }

        Assert.Equal([(300L, 100L, false), (20L, 0L, true)], read.OrderBy(r => r.TenantSeq).Select(r => (r.CacheWriteTokens, r.CacheWrite1hTokens, r.UsageEstimated)));
        Assert.Equal(["eu-2", null], read.OrderBy(r => r.TenantSeq).Select(r => r.Deployment)); // the deployment column (011)
        var totals = (await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken)).Totals;
        Assert.Equal((320L, 100L, 1L, 7L), (totals.CacheWriteTokens, totals.CacheWrite1hTokens, totals.EstimatedCalls, totals.ReasoningTokens));
    }

    [Fact]
    public async Task The_trace_id_is_stored_and_read_back()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "tr-" + Guid.NewGuid().ToString("N")[..8];
        var trace = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        await ledger.AppendAsync(Row(tenant, 1) with { TraceId = trace });
        await ledger.AppendAsync(Row(tenant, 2)); // a grain-API call without trace context
        Assert.Equal(trace, await db.ScalarAsync<string>("SELECT trace_id FROM llm_calls WHERE tenant_id = $1 AND tenant_seq = 1", tenant));

        var read = new List<LedgerRecord>();
        await foreach (var r in ledger.ReadAfterAsync(tenant, 0, TestContext.Current.CancellationToken))
        {
            read.Add(r);
        }

        Assert.Equal([trace, null], read.OrderBy(r => r.TenantSeq).Select(r => r.TraceId)); // the trace_id column (012)
    }
    [Fact]
    public async Task The_kind_of_a_row_is_stored_and_read_back_and_older_rows_are_model_calls()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "kd-" + Guid.NewGuid().ToString("N")[..8];
        await ledger.AppendAsync(Row(tenant, 1) with { Kind = LedgerRecord.ToolCall, Provider = "files", Model = "echo", PromptTokens = 0, CompletionTokens = 0, CostUsd = 0.01m });
        await ledger.AppendAsync(Row(tenant, 2));
        Assert.Equal("tool_call", await db.ScalarAsync<string>("SELECT kind FROM llm_calls WHERE tenant_id = $1 AND tenant_seq = 1", tenant));
        Assert.Equal("model_call", await db.ScalarAsync<string>("SELECT kind FROM llm_calls WHERE tenant_id = $1 AND tenant_seq = 2", tenant));

        var read = new List<LedgerRecord>();
        await foreach (var r in ledger.QueryAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken))
        {
            read.Add(r);
        }

        Assert.Equal([LedgerRecord.ToolCall, LedgerRecord.ModelCall], read.OrderBy(r => r.TenantSeq).Select(r => r.Kind)); // the kind column (014)
        Assert.Equal(0.011m, (await ledger.ReportAsync(new UsageQuery(tenant), TestContext.Current.CancellationToken)).Totals.CostUsd); // reports include tool calls
    }

    [Fact]
    public async Task A_fence_and_a_catch_up_read_after_an_outage_do_not_fail_on_connections_that_idled_through_it()
    {
        // A budget grain activated after a database outage fences and reads on a pooled connection that sat idle through
        // the outage: dead on first use. Each must succeed on a fresh connection instead of failing the activation.
        db.RequireOrSkip();
        var target = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new LoopbackProxy(target.Host!, target.Port);
        var proxied = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3 }.ConnectionString;
        await using var ledger = Ledger(proxied);
        var tenant = "idle-" + Guid.NewGuid().ToString("N")[..8];
        var first = await ledger.FenceAsync(tenant);
        Assert.True(await ledger.AppendAsync(Row(tenant, 1) with { Epoch = first }));

        proxy.Cut(); // every open connection dies, the idle ones in the pool with them
        proxy.Restore();

        Assert.Equal(first + 1, await ledger.FenceAsync(tenant));
        proxy.Cut();
        proxy.Restore();
        var rows = new List<LedgerRecord>();
        await foreach (var row in ledger.ReadAfterAsync(tenant, 0))
        {
            rows.Add(row);
        }

        Assert.Single(rows);
    }

    [Fact]
    public async Task A_row_keeps_each_attempt_in_order_and_an_older_row_reads_without_any()
    {
        db.RequireOrSkip();
        await using var ledger = Ledger();
        var tenant = "att-" + Guid.NewGuid().ToString("N")[..8];
        var tried = Row(tenant, 1) with { AttemptLog = [new LedgerAttempt("a", "pa", null, "server", 12.5), new LedgerAttempt("b", "pb", "d1", null, 30)] };
        Assert.True(await ledger.AppendAsync(tried));
        Assert.True(await ledger.AppendAsync(Row(tenant, 2)));
        var rows = new List<LedgerRecord>();
        await foreach (var row in ledger.ReadAfterAsync(tenant, 0))
        {
            rows.Add(row);
        }

        Assert.Equal(tried.AttemptLog, rows[0].AttemptLog);
        Assert.Null(rows[1].AttemptLog);
        Assert.Equal("server", await db.ScalarAsync<string>("SELECT attempt_log->0->>'ErrorClass' FROM llm_calls WHERE request_id = $1", tried.RequestId));
    }
}
