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
}
