using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>The response cache and request coalescing on a three-silo cluster, through the router grain.</summary>
[Collection(CacheClusterCollection.Name)]
public sealed class ResponseCacheTests(CacheClusterFixture fx)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static ChatRequest Ask(string marker, double? temperature = 0) =>
        new([RouterMessage.FromText("user", $"What is the cache question {marker}?")]) { Temperature = temperature, MaxOutputTokens = 50 };

    private static RouterContext As(string tenant, string model = "m-up") => new(tenant) { Model = model };

    private static string Marker() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Fifty_identical_concurrent_requests_from_three_silos_make_one_upstream_call_and_fifty_ledger_rows()
    {
        var marker = Marker();
        var contexts = Enumerable.Range(0, 50).Select(_ => As("c1")).ToList();
        var answers = await Task.WhenAll(contexts.Select((c, i) => fx.Router(i % 3).CompleteAsync(Ask(marker), c, Cancel)));

        Assert.Equal(1, fx.UpstreamCalls(marker));
        Assert.Single(answers.Select(a => a.Message.Text).Distinct());
        var miss = Assert.Single(answers, a => a.Cache == CacheStatus.Miss);
        Assert.All(answers.Where(a => a != miss), a =>
        {
            Assert.Contains(a.Cache, new[] { CacheStatus.Coalesced, CacheStatus.Hit });
            Assert.Equal(0m, a.CostUsd);
            Assert.Equal(miss.CostUsd, a.SavedUsd);
            Assert.Equal(miss.Usage, a.Usage);
        });
        Assert.True(miss.CostUsd > 0m);

        var rows = await fx.RowsAsync("c1", contexts.Select(c => c.RequestId));
        Assert.Equal(50, rows.Count);
        var billed = Assert.Single(rows, r => r.Cache == CacheStatus.Miss);
        Assert.Equal(miss.CostUsd, billed.CostUsd);
        Assert.True(billed.PromptTokens > 0);
        Assert.All(rows.Where(r => r != billed), r =>
        {
            Assert.True(r.IsCacheHit);
            Assert.Equal(0m, r.CostUsd);
            Assert.Equal(0, r.TotalTokens);
            Assert.Equal(miss.CostUsd, r.SavedUsd);
            Assert.True(r.Success);
        });
    }

    [Fact]
    public async Task A_second_tenant_with_the_same_request_misses_and_a_tenant_sharing_a_namespace_hits()
    {
        var marker = Marker();
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(1).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Miss, (await fx.Router(2).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
        Assert.Equal(2, fx.UpstreamCalls(marker));

        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("cs1"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(1).CompleteAsync(Ask(marker), As("cs2"), Cancel)).Cache);
        Assert.Equal(3, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task An_alias_and_its_model_share_entries_and_another_route_does_not()
    {
        var marker = Marker();
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c1", "m-up"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(0).CompleteAsync(Ask(marker), As("c1", "m-alias"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), new RouterContext("c1") { Action = "plain" }, Cancel)).Cache);
        Assert.Equal(2, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task An_entry_expires_after_its_ttl_on_the_router_clock()
    {
        var marker = Marker();
        var ttl = As("c1") with { Cache = new CacheDirective { TtlSeconds = 60 } };
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), ttl, Cancel)).Cache);
        fx.Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(CacheStatus.Hit, (await fx.Router(1).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
        fx.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(CacheStatus.Miss, (await fx.Router(2).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
        Assert.Equal(2, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_max_age_refuses_older_answers_and_a_refresh_stores_a_new_one()
    {
        var marker = Marker();
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
        fx.Clock.Advance(TimeSpan.FromSeconds(30));
        var young = As("c1") with { Cache = new CacheDirective { MaxAgeSeconds = 10 } };
        Assert.Equal(CacheStatus.Miss, (await fx.Router(1).CompleteAsync(Ask(marker), young, Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(1).CompleteAsync(Ask(marker), young with { RequestId = Guid.NewGuid().ToString("N") }, Cancel)).Cache);
        var refresh = As("c1") with { Cache = new CacheDirective { Mode = CacheMode.Refresh } };
        Assert.Equal(CacheStatus.Miss, (await fx.Router(2).CompleteAsync(Ask(marker), refresh, Cancel)).Cache);
        Assert.Equal(3, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task Skip_bypasses_the_cache_and_is_billed_as_any_call()
    {
        var marker = Marker();
        var skip = new CacheDirective { Mode = CacheMode.Skip };
        var first = await fx.Router(0).CompleteAsync(Ask(marker), As("c1") with { Cache = skip }, Cancel);
        var second = await fx.Router(1).CompleteAsync(Ask(marker), As("c1") with { Cache = skip }, Cancel);
        Assert.Null(first.Cache);
        Assert.Null(second.Cache);
        Assert.Equal(2, fx.UpstreamCalls(marker));
        var third = await fx.Router(2).CompleteAsync(Ask(marker), As("c1"), Cancel);
        Assert.Equal(CacheStatus.Miss, third.Cache); // nothing was stored by the skipped ones
        var rows = await fx.RowsAsync("c1", [first.Id["chatcmpl-".Length..], second.Id["chatcmpl-".Length..]]);
        Assert.All(rows, r => Assert.Null(r.Cache));
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public async Task Only_deterministic_requests_are_cached_unless_the_caller_opts_in()
    {
        var marker = Marker();
        Assert.Null((await fx.Router(0).CompleteAsync(Ask(marker, temperature: 0.7), As("c1"), Cancel)).Cache);
        Assert.Null((await fx.Router(0).CompleteAsync(Ask(marker, temperature: 0.7), As("c1"), Cancel)).Cache);
        var seeded = Ask(marker, temperature: 0.7) with { Seed = 7 };
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(seeded, As("c1"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(0).CompleteAsync(seeded, As("c1"), Cancel)).Cache);
        var use = As("c0") with { Cache = new CacheDirective { Mode = CacheMode.Use } };
        Assert.Null((await fx.Router(0).CompleteAsync(Ask(marker), As("c0"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker, temperature: 0.7), use, Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(0).CompleteAsync(Ask(marker, temperature: 0.7), use with { RequestId = Guid.NewGuid().ToString("N") }, Cancel)).Cache);
        Assert.Equal(5, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_tenant_that_turns_the_cache_off_is_never_cached_and_an_action_turns_it_on()
    {
        var marker = Marker();
        var use = As("cx") with { Cache = new CacheDirective { Mode = CacheMode.Use } };
        Assert.Null((await fx.Router(0).CompleteAsync(Ask(marker), use, Cancel)).Cache);
        Assert.Null((await fx.Router(0).CompleteAsync(Ask(marker), use with { RequestId = Guid.NewGuid().ToString("N") }, Cancel)).Cache);
        var action = new RouterContext("c0") { Action = "cached" };
        Assert.Equal(CacheStatus.Miss, (await fx.Router(1).CompleteAsync(Ask(marker), action, Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(2).CompleteAsync(Ask(marker), action with { RequestId = Guid.NewGuid().ToString("N") }, Cancel)).Cache);
        Assert.Equal(3, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_hit_price_is_charged_and_counted_against_the_budget()
    {
        var marker = Marker();
        var miss = await fx.Router(0).CompleteAsync(Ask(marker), As("cp"), Cancel);
        var before = (await fx.Cluster.Client.GetTenantBudget("cp").GetUsageAsync()).Windows.Single(w => w.Window == "lifetime").CostUsd;
        var hitContext = As("cp");
        var hit = await fx.Router(1).CompleteAsync(Ask(marker), hitContext, Cancel);
        Assert.Equal(CacheStatus.Hit, hit.Cache);
        Assert.Equal(0.001m, hit.CostUsd);
        Assert.Equal(miss.CostUsd, hit.SavedUsd);
        var after = (await fx.Cluster.Client.GetTenantBudget("cp").GetUsageAsync()).Windows.Single(w => w.Window == "lifetime").CostUsd;
        Assert.Equal(before + 0.001m, after);
        var row = Assert.Single(await fx.RowsAsync("cp", [hitContext.RequestId]));
        Assert.Equal(0.001m, row.CostUsd);
        Assert.Equal(CacheStatus.Hit, row.Cache);
    }

    [Fact]
    public async Task A_stream_hit_replays_the_chunks_in_order_with_usage()
    {
        var marker = Marker();
        var first = await CollectAsync(fx.Router(0), Ask(marker), As("c1"));
        var second = await CollectAsync(fx.Router(1), Ask(marker), As("c1"));
        Assert.Equal(1, fx.UpstreamCalls(marker));
        Assert.Equal(CacheStatus.Miss, first[0].Cache);
        Assert.Equal(CacheStatus.Hit, second[0].Cache);
        Assert.True(first.Count > 2);
        Assert.Equal(first.Select(i => i.TextDelta), second.Select(i => i.TextDelta));
        Assert.Equal(first[^1].Usage, second[^1].Usage);
        Assert.NotNull(second[^1].Usage);
        Assert.Equal(0m, second[^1].CostUsd);
        Assert.Equal(first[^1].CostUsd, second[^1].SavedUsd);

        // A stream and a completion of the same request are stored apart.
        Assert.Equal(CacheStatus.Miss, (await fx.Router(2).CompleteAsync(Ask(marker), As("c1"), Cancel)).Cache);
    }

    [Fact]
    public async Task Identical_streams_at_the_same_time_share_one_upstream_stream_and_each_gets_every_chunk()
    {
        var marker = Marker();
        var contexts = Enumerable.Range(0, 12).Select(_ => As("c1")).ToList();
        var streams = await Task.WhenAll(contexts.Select((c, i) => CollectAsync(fx.Router(i % 3), Ask(marker), c)));
        Assert.Equal(1, fx.UpstreamCalls(marker));
        var text = string.Concat(streams[0].Select(i => i.TextDelta));
        Assert.All(streams, s =>
        {
            Assert.Equal(text, string.Concat(s.Select(i => i.TextDelta)));
            Assert.NotNull(s[^1].Usage);
        });
        Assert.Single(streams, s => s[0].Cache == CacheStatus.Miss);
        var rows = await fx.RowsAsync("c1", contexts.Select(c => c.RequestId));
        Assert.Equal(12, rows.Count);
        Assert.Single(rows, r => r.Cache == CacheStatus.Miss);
        Assert.Equal(11, rows.Count(r => r.IsCacheHit && r.CostUsd == 0m && r.SavedUsd > 0m));
    }

    [Fact]
    public async Task A_store_that_cannot_be_read_or_written_serves_misses_never_errors()
    {
        var marker = Marker();
        fx.Store.Broken = true;
        try
        {
            Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
            Assert.Equal(CacheStatus.Miss, (await fx.Router(1).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
            Assert.Equal(CacheStatus.Miss, (await CollectAsync(fx.Router(2), Ask(marker), As("c2")))[0].Cache);
        }
        finally
        {
            fx.Store.Broken = false;
        }

        // A failed store is left alone for a few seconds on the router clock, then tried again.
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
        Assert.Equal(4, fx.UpstreamCalls(marker));
        fx.Clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(CacheStatus.Miss, (await fx.Router(0).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
        Assert.Equal(CacheStatus.Hit, (await fx.Router(1).CompleteAsync(Ask(marker), As("c2"), Cancel)).Cache);
        Assert.Equal(5, fx.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_caller_that_leaves_never_fails_another_that_waits_for_the_same_answer()
    {
        var marker = Marker();
        using var leaving = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var first = fx.Router(0).CompleteAsync(Ask(marker), As("c2"), leaving.Token);
        await WaitUntilAsync(() => fx.UpstreamCalls(marker) == 1);
        var second = fx.Router(1).CompleteAsync(Ask(marker), As("c2"), Cancel);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // Joined before the first left: it shares that call, which goes on. Joined after: the abandoned call is not
        // joined, it makes its own.
        var answer = await second;
        Assert.Equal(answer.Cache == CacheStatus.Coalesced ? 1 : 2, fx.UpstreamCalls(marker));
        Assert.Contains(answer.Cache, new[] { CacheStatus.Coalesced, CacheStatus.Miss });
    }

    [Fact]
    public async Task A_call_every_caller_left_is_cancelled_upstream_and_the_next_request_starts_over()
    {
        var marker = Marker();
        var aborted = fx.Mock.AbortedRequests;
        using (var leaving = CancellationTokenSource.CreateLinkedTokenSource(Cancel))
        {
            var only = fx.Router(0).CompleteAsync(Ask(marker), As("c2"), leaving.Token);
            await WaitUntilAsync(() => fx.UpstreamCalls(marker) == 1);
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => only);
        }

        await WaitUntilAsync(() => fx.Mock.AbortedRequests > aborted);
        var next = await fx.Router(1).CompleteAsync(Ask(marker), As("c2"), Cancel);
        Assert.Equal(CacheStatus.Miss, next.Cache);
        Assert.Equal(2, fx.UpstreamCalls(marker));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20, Cancel);
        }

        Assert.True(condition(), "not reached within 10 s");
    }

    private static async Task<List<ChatStreamItem>> CollectAsync(IRouterGrain router, ChatRequest request, RouterContext context)
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in router.StreamAsync(request, context, Cancel))
        {
            items.Add(item);
        }

        return items;
    }
}

/// <summary>The ledger row of a routed call lists each try with its error class (the console's call detail shows them).</summary>
[Collection(CacheClusterCollection.Name)]
public sealed class AttemptLogTests(CacheClusterFixture fx)
{
    [Fact]
    public async Task A_failed_call_and_an_answered_call_record_each_attempt_on_their_ledger_row()
    {
        var failed = new RouterContext("c0") { Model = "m-up" };
        await Assert.ThrowsAsync<AllModelsFailedException>(() => fx.Router(0).CompleteAsync(
            new ChatRequest([RouterMessage.FromText("user", $"[mock:server] {Guid.NewGuid():N}")]), failed, TestContext.Current.CancellationToken));
        var answered = new RouterContext("c0") { Model = "m-up" };
        await fx.Router(1).CompleteAsync(new ChatRequest([RouterMessage.FromText("user", $"fine {Guid.NewGuid():N}")]), answered, TestContext.Current.CancellationToken);

        var rows = await fx.RowsAsync("c0", [failed.RequestId, answered.RequestId]);
        var failedLog = Assert.Single(rows, r => r.RequestId == failed.RequestId).AttemptLog!;
        var attempt = Assert.Single(failedLog);
        Assert.Equal(("m-up", "up", "server"), (attempt.Model, attempt.Provider, attempt.ErrorClass));
        var answeredLog = Assert.Single(rows, r => r.RequestId == answered.RequestId).AttemptLog!;
        Assert.Null(Assert.Single(answeredLog).ErrorClass);
        Assert.True(answeredLog[0].LatencyMs > 0);
    }
}

/// <summary>The semantic cache on the three-silo cluster (in memory): near-duplicates hit, others miss.</summary>
[Collection(CacheClusterCollection.Name)]
public sealed class SemanticCacheTests(CacheClusterFixture fx)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { Temperature = 0, MaxOutputTokens = 50 };

    [Fact]
    public async Task A_near_duplicate_above_the_threshold_is_a_hit_and_one_below_it_or_with_other_parameters_is_a_miss()
    {
        var marker = Guid.NewGuid().ToString("N")[..12];
        var first = await fx.Router(0).CompleteAsync(Ask($"what is the capital city of france {marker}"), new RouterContext("sem") { Model = "m-up" }, Cancel);
        Assert.Equal(CacheStatus.Miss, first.Cache);

        var nearContext = new RouterContext("sem") { Model = "m-up" };
        var near = await fx.Router(1).CompleteAsync(Ask($"what is the capital city of france today {marker}"), nearContext, Cancel);
        Assert.Equal(CacheStatus.Hit, near.Cache);
        Assert.Equal(first.Message.Text, near.Message.Text);
        Assert.Equal(first.CostUsd, near.SavedUsd);

        var far = await fx.Router(2).CompleteAsync(Ask($"how do I bake sourdough bread at home {marker}"), new RouterContext("sem") { Model = "m-up" }, Cancel);
        Assert.Equal(CacheStatus.Miss, far.Cache);
        var otherParameters = await fx.Router(0).CompleteAsync(Ask($"what is the capital city of france today {marker}") with { MaxOutputTokens = 40 }, new RouterContext("sem") { Model = "m-up" }, Cancel);
        Assert.Equal(CacheStatus.Miss, otherParameters.Cache);
        Assert.Equal(3, fx.UpstreamCalls(marker));

        // The embedding is billed as the caller's own embedding call.
        var rows = await fx.RowsAsync("sem", [nearContext.RequestId, nearContext.RequestId + "/embed"]);
        Assert.Equal(2, rows.Count);
        var embed = Assert.Single(rows, r => r.RequestId.EndsWith("/embed", StringComparison.Ordinal));
        Assert.Equal("sim-embed", embed.Model);
        Assert.True(embed.PromptTokens > 0);
        Assert.Equal(CacheStatus.Hit, Assert.Single(rows, r => r.RequestId == nearContext.RequestId).Cache);
    }
}
