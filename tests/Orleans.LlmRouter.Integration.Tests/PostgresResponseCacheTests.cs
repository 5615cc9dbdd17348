using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Caching;
using Orleans.LlmRouter.Ledger;
using Orleans.Serialization;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// The response cache on PostgreSQL (<c>llm_cache_entries</c>): stored answers round-trip whole, expire, are kept under
/// their namespace's cap least recently used first, and purge; a hit's ledger row keeps its cache status and saving.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresResponseCacheTests(PostgresDatabase db)
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly Serializer<CachedAnswer> Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer<CachedAnswer>>();

    private PostgresResponseCacheStore Store() => new(db.ConnectionString, Serializer);

    private static CacheEntry Entry(string ns, string key, int size, DateTimeOffset at, TimeSpan ttl, string text = "answer") => new(ns, key, new CachedAnswer
    {
        Completion = new ChatCompletion("chatcmpl-x", "m", "p", "pm", RouterMessage.FromText("assistant", text), "stop", new TokenUsage(12, 7), 0.0042m, [], 5, at),
    }, size, at, at + ttl);

    [Fact]
    public async Task A_stored_answer_round_trips_whole_until_it_expires()
    {
        db.RequireOrSkip();
        await using var store = Store();
        var ns = "t:" + Guid.NewGuid().ToString("N")[..8];
        var streamed = new CacheEntry(ns, "s", new CachedAnswer
        {
            Items = [new ChatStreamItem { TextDelta = "he", Model = "m", Provider = "p" }, new ChatStreamItem { TextDelta = "llo", FinishReason = "stop", Usage = new TokenUsage(3, 2), CostUsd = 0.001m }],
        }, 100, T0, T0.AddMinutes(1));
        await store.PutAsync(Entry(ns, "c", 100, T0, TimeSpan.FromMinutes(1), "the whole answer"), 10_000, T0);
        await store.PutAsync(streamed, 10_000, T0);

        var completion = (await store.GetAsync(ns, "c", T0.AddSeconds(59)))!.Answer.Completion!;
        Assert.Equal("the whole answer", completion.Message.Text);
        Assert.Equal(new TokenUsage(12, 7), completion.Usage);
        Assert.Equal(0.0042m, completion.CostUsd);
        var items = (await store.GetAsync(ns, "s", T0))!.Answer.Items!;
        Assert.Equal(["he", "llo"], items.Select(i => i.TextDelta));
        Assert.Equal(new TokenUsage(3, 2), items[^1].Usage);

        Assert.Null(await store.GetAsync(ns, "c", T0.AddMinutes(1)));
        Assert.Null(await store.GetAsync("t:other", "c", T0));
    }

    [Fact]
    public async Task A_namespace_over_its_cap_loses_its_least_recently_used_answers_and_others_are_untouched()
    {
        db.RequireOrSkip();
        await using var store = Store();
        var ns = "t:" + Guid.NewGuid().ToString("N")[..8];
        var other = "t:" + Guid.NewGuid().ToString("N")[..8];
        await store.PutAsync(Entry(other, "z", 90, T0, TimeSpan.FromHours(1)), 100, T0);
        await store.PutAsync(Entry(ns, "a", 40, T0, TimeSpan.FromHours(1)), 100, T0);
        await store.PutAsync(Entry(ns, "b", 40, T0.AddSeconds(1), TimeSpan.FromHours(1)), 100, T0.AddSeconds(1));
        Assert.NotNull(await store.GetAsync(ns, "a", T0.AddSeconds(2))); // a is now the most recently used
        await store.PutAsync(Entry(ns, "c", 40, T0.AddSeconds(3), TimeSpan.FromHours(1)), 100, T0.AddSeconds(3));

        Assert.Null(await store.GetAsync(ns, "b", T0.AddSeconds(4)));
        Assert.NotNull(await store.GetAsync(ns, "a", T0.AddSeconds(4)));
        Assert.NotNull(await store.GetAsync(ns, "c", T0.AddSeconds(4)));
        Assert.Equal((2, 80L), await store.SizeAsync(ns));
        Assert.Equal((1, 90L), await store.SizeAsync(other));

        Assert.Equal(2, await store.PurgeAsync(ns));
        Assert.Equal((0, 0L), await store.SizeAsync(ns));
        Assert.Equal((1, 90L), await store.SizeAsync(other));
    }

    [Fact]
    public async Task A_cache_hit_row_keeps_its_status_and_saving_and_usage_reports_sum_them()
    {
        db.RequireOrSkip();
        await using var ledger = new PostgresLedger(new PostgresLedgerOptions(db.ConnectionString)
        {
            SpoolDirectory = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName,
        }, NullLogger<PostgresLedger>.Instance);
        var tenant = "cache-" + Guid.NewGuid().ToString("N")[..8];
        LedgerRecord Row(long seq, string? cache, decimal cost, decimal saved, long tokens) => new()
        {
            RequestId = $"{tenant}-{seq}",
            TenantId = tenant,
            TenantSeq = seq,
            Provider = "p",
            Model = "m",
            PromptTokens = tokens,
            CostUsd = cost,
            Success = true,
            StartedAt = T0,
            CompletedAt = T0,
            Cache = cache,
            SavedUsd = saved,
        };
        await ledger.AppendAsync(Row(1, CacheStatus.Miss, 0.01m, 0m, 100));
        await ledger.AppendAsync(Row(2, CacheStatus.Hit, 0m, 0.01m, 0));
        await ledger.AppendAsync(Row(3, CacheStatus.Coalesced, 0.001m, 0.01m, 0));
        await ledger.AppendAsync(Row(4, null, 0.02m, 0m, 200));

        var rows = new List<LedgerRecord>();
        await foreach (var r in ledger.ReadAfterAsync(tenant, 0))
        {
            rows.Add(r);
        }

        Assert.Equal([CacheStatus.Miss, CacheStatus.Hit, CacheStatus.Coalesced, null], rows.Select(r => r.Cache));
        Assert.Equal([0m, 0.01m, 0.01m, 0m], rows.Select(r => r.SavedUsd));

        // A whole day of rows (rollups) and a partial one (rows) sum the same.
        foreach (var query in new[] { new UsageQuery(tenant), new UsageQuery(tenant) { From = T0.AddHours(-1), To = T0.AddHours(1) } })
        {
            var totals = (await ledger.ReportAsync(query, TestContext.Current.CancellationToken)).Totals;
            Assert.Equal(4, totals.Calls);
            Assert.Equal(2, totals.CacheHits);
            Assert.Equal(0.02m, totals.SavedUsd);
            Assert.Equal(0.031m, totals.CostUsd);
        }
    }

    [Fact]
    public async Task The_nearest_vector_of_a_scope_at_or_above_the_threshold_is_found_and_the_index_is_bounded()
    {
        db.RequireOrSkip();
        await using var store = Store();
        var ns = "t:" + Guid.NewGuid().ToString("N")[..8];
        float[] Unit(params float[] v) => v.Select(x => x / (float)Math.Sqrt(v.Sum(y => y * y))).ToArray();
        await store.PutVectorAsync(ns, "east", "s1", Unit(1, 0, 0), 3, T0);
        await store.PutVectorAsync(ns, "north", "s1", Unit(0, 1, 0), 3, T0.AddSeconds(1));
        await store.PutVectorAsync(ns, "other-scope", "s2", Unit(1, 0.1f, 0), 3, T0.AddSeconds(2));

        Assert.Equal("east", await store.NearestAsync(ns, "s1", Unit(1, 0.2f, 0), 0.95));
        Assert.Null(await store.NearestAsync(ns, "s1", Unit(1, 1, 0), 0.95)); // 0.707 to either
        Assert.Equal("north", await store.NearestAsync(ns, "s1", Unit(0.2f, 1, 0), 0.9));
        Assert.Equal("other-scope", await store.NearestAsync(ns, "s2", Unit(1, 0, 0), 0.9));
        Assert.Null(await store.NearestAsync("t:elsewhere", "s1", Unit(1, 0, 0), 0.5));

        // The namespace keeps its latest three: the oldest goes.
        await store.PutVectorAsync(ns, "up", "s1", Unit(0, 0, 1), 3, T0.AddSeconds(3));
        Assert.Null(await store.NearestAsync(ns, "s1", Unit(1, 0, 0), 0.9));
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_cache_vectors WHERE namespace = $1", ns));

        await store.PurgeAsync(ns);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM llm_cache_vectors WHERE namespace = $1", ns));
    }
}
