using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Pricing;

namespace Orleans.LlmRouter.Grains.Tests.Routing;

[Collection(RoutingClusterCollection.Name)]
public sealed class RouterGrainTests(RoutingClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 50 };

    private static RouterContext Ctx(string? model = null, string? action = null, string? strategy = null) =>
        new("r") { Model = model, Action = action, Strategy = strategy };

    [Fact]
    public async Task An_explicit_model_answers_and_is_priced_from_the_catalog()
    {
        var c = await Router.CompleteAsync(Ask("price me"), Ctx(model: "b-small"));
        Assert.Equal(("b-small", "sb", "b-small-1"), (c.Model, c.Provider, c.ProviderModel));
        Assert.Equal(((c.Usage.PromptTokens * 0.5m) + (c.Usage.CompletionTokens * 1m)) / 1_000_000m, c.CostUsd); // b-small: 0.5 / 1 USD per 1M
        Assert.True(c.CostUsd > 0);
        Assert.Single(c.Attempts);
    }

    [Theory]
    [InlineData(null, "a-small")]
    [InlineData("default", "a-small")]
    [InlineData("quality", "a-large")]
    [InlineData("budget", "b-small")] // off-cheap's provider is disabled
    public async Task Each_strategy_walks_its_chain(string? strategy, string expected)
    {
        var c = await Router.CompleteAsync(Ask($"strategy {strategy}"), Ctx(action: "work", strategy: strategy));
        Assert.Equal(expected, c.Model);
    }

    [Fact]
    public async Task When_a_strategy_is_exhausted_the_default_chain_answers()
    {
        var c = await Router.CompleteAsync(Ask("quality fails [simulate:bad_request@a-large] [simulate:bad_request@b-vision]"), Ctx(action: "work", strategy: "quality"));
        Assert.Equal("a-small", c.Model);
        Assert.Equal(["a-large", "b-vision", "a-small"], c.Attempts.Select(a => a.Model));
        Assert.Equal([ProviderErrorClass.BadRequest, ProviderErrorClass.BadRequest, null], c.Attempts.Select(a => a.ErrorClass));
    }

    [Fact]
    public async Task A_permanent_error_moves_on_at_once_and_a_transient_one_is_retried_first()
    {
        var permanent = await Router.CompleteAsync(Ask("perm [simulate:auth@a-small]"), Ctx(action: "work"));
        Assert.Equal(["a-small", "b-small"], permanent.Attempts.Select(a => a.Model));

        var transient = await Router.CompleteAsync(Ask("trans [simulate:server@a-small]"), Ctx(action: "work"));
        Assert.Equal(["a-small", "a-small", "b-small"], transient.Attempts.Select(a => a.Model)); // sa: max_attempts 2
        Assert.Equal("b-small", transient.Model);
    }

    [Fact]
    public async Task A_context_length_error_jumps_to_a_long_context_model()
    {
        var c = await Router.CompleteAsync(Ask("too long [simulate:context_length@a-small]"), Ctx(action: "long"));
        Assert.Equal(["a-small", "a-large"], c.Attempts.Select(a => a.Model)); // b-small skipped: not long-context
    }

    [Fact]
    public async Task Invalid_structured_output_moves_to_the_next_model()
    {
        var schema = """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""";
        var request = new ChatRequest([RouterMessage.FromText("user", "json please [simulate:invalid_json@a-small]")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "a", schema) };
        var c = await Router.CompleteAsync(request, Ctx(action: "work"));
        Assert.Equal("b-small", c.Model);
        Assert.Equal(ProviderErrorClass.StructuredOutput, c.Attempts[0].ErrorClass);
        Assert.Null(Core.Validation.JsonOutputValidator.Validate(c.Message.Text, schema));
    }

    [Fact]
    public async Task Auto_routes_by_capability_priority_and_cost_and_respects_max_cost()
    {
        Assert.Equal("a-small", (await Router.CompleteAsync(Ask("auto"), Ctx(model: "auto"))).Model); // priority 1, cheaper than a-large

        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("what is this"), ContentPart.FromImage("https://example.com/x.png")])]) { MaxOutputTokens = 50 };
        Assert.Equal("a-large", (await Router.CompleteAsync(image, Ctx(model: "auto"))).Model); // vision on priority 1

        var capped = await Router.CompleteAsync(image, Ctx(model: "auto") with { MaxCostUsd = 0.005m });
        Assert.Equal("b-vision", capped.Model); // a-large's estimate is over the cap
    }

    [Fact]
    public async Task Explain_gives_the_route_and_reasons_without_calling_a_provider()
    {
        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("look [simulate:server]"), ContentPart.FromImage("https://example.com/y.png")])]) { MaxOutputTokens = 50 };
        var e = await Router.ExplainAsync(image, Ctx(action: "work", strategy: "quality"));
        Assert.Equal("a-large", e.ChosenModel);
        Assert.Equal(["b-vision"], e.Fallbacks);
        Assert.Contains(e.Candidates, c => c.Model == "a-small" && c.Reason.Contains("lacks capability vision", StringComparison.Ordinal));
        Assert.True(e.EstimatedCostUsd > 0);
        Assert.Equal(50, e.ReservedOutputTokens);

        var none = await Router.ExplainAsync(image, Ctx(action: "work", strategy: "budget"));
        Assert.Null(none.ChosenModel);
        Assert.Contains(none.Candidates, c => c.Model == "off-cheap" && c.Reason.Contains("disabled", StringComparison.Ordinal));
        Assert.Contains(none.Candidates, c => c.Model == "b-small" && c.Reason.Contains("lacks capability vision", StringComparison.Ordinal));

        var huge = new ChatRequest([RouterMessage.FromText("user", new string('x', 20_000))]) { MaxOutputTokens = 10 };
        var big = await Router.ExplainAsync(huge, Ctx(action: "long"));
        Assert.Equal("a-large", big.ChosenModel);
        Assert.Contains(big.Candidates, c => c.Model == "a-small" && c.Reason.Contains("context window", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prompt_estimates_use_each_models_tokenizer_family()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 250));
        var request = new ChatRequest([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 10 };

        // gpt-4o-mini counts with o200k exactly: 2501 text tokens + 3 for the message + 3 for the reply.
        var exact = await Router.ExplainAsync(request, Ctx(model: "o-mini"));
        Assert.Equal(2507, exact.EstimatedPromptTokens);
        Assert.Equal((2507 * 100m / 1_000_000m) + (10 * 200m / 1_000_000m), exact.EstimatedCostUsd);

        // A model without a public tokenizer gets the documented heuristic (4 characters per token, erring high).
        var heuristic = await Router.ExplainAsync(request, Ctx(model: "a-large"));
        Assert.Equal(3 + 4 + ((text.Length + 3) / 4), heuristic.EstimatedPromptTokens);
    }

    [Fact]
    public async Task The_request_limits_hold_on_the_grain_api_too()
    {
        var many = new ChatRequest(Enumerable.Range(0, 2_049).Select(i => RouterMessage.FromText("user", $"m{i}")).ToList()) { MaxOutputTokens = 5 };
        Assert.Equal("messages", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(many, Ctx(action: "work")))).Param);
        var tooMany = new EmbeddingRequest(Enumerable.Range(0, 2_049).Select(i => $"text {i}").ToList());
        Assert.Equal("input", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.EmbedAsync(tooMany, Ctx()))).Param);
    }

    [Fact]
    public async Task When_everything_fails_the_error_lists_every_attempt()
    {
        var ex = await Assert.ThrowsAsync<AllModelsFailedException>(() => Router.CompleteAsync(Ask("doomed [simulate:bad_request]"), Ctx(action: "work")));
        Assert.Equal(["a-small", "b-small"], ex.Attempts.Select(a => a.Model));
        Assert.Contains("a-small@sa: bad_request", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_models_actions_and_strategies_are_typed_errors()
    {
        Assert.True((await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), Ctx(model: "nope")))).NotFound);
        Assert.True((await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), Ctx(action: "nope")))).NotFound);
        Assert.Equal("strategy", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), Ctx(action: "work", strategy: "fastest")))).Param);
    }

    [Fact]
    public async Task A_stream_falls_back_before_its_first_chunk()
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("stream [simulate:server@a-small]"), Ctx(action: "work"), TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        Assert.Equal("b-small", items[0].Model);
        Assert.Equal("stop", items[^1].FinishReason);
        Assert.NotNull(items[^1].Usage);
    }

    [Fact]
    public void The_router_is_one_worker_per_silo_that_is_never_removed_for_idleness()
    {
        // A stream's enumerator lives in the router activation between its consumer's pulls, when no request runs there:
        // a second local worker, or the removal of an idle one, would abort the stream (EnumerationAbortedException).
        var services = fx.Cluster.Silos[0].ServiceProvider;
        var type = services.GetRequiredService<Orleans.Metadata.GrainTypeResolver>().GetGrainType(typeof(Orleans.LlmRouter.Grains.Routing.RouterGrain));
        var properties = services.GetRequiredService<Orleans.Metadata.GrainPropertiesResolver>().GetGrainProperties(type).Properties;
        Assert.Equal("1", properties["max-local-instances"]);
        Assert.Equal("False", properties["remove-idle-workers"]);
    }

    [Fact]
    public async Task A_pushed_stream_whose_running_notice_goes_unanswered_announces_itself_again_and_is_delivered_whole()
    {
        // A message from a silo to a client can be lost while the client's gateways change (a rolling restart): the
        // router's first notice to the caller's observer is never answered here. The stream must not wait out the
        // default response timeout (30 s) before its first item; it announces itself again and goes on.
        var observer = new LosingObserver();
        var reference = fx.Cluster.Client.CreateObjectReference<IChatStreamObserver>(observer);
        try
        {
            await Router.StreamToAsync(Ask("a pushed stream"), Ctx(action: "work"), reference, TestContext.Current.CancellationToken)
                .WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        }
        finally
        {
            fx.Cluster.Client.DeleteObjectReference<IChatStreamObserver>(reference);
        }

        Assert.True(observer.Notices >= 2, $"{observer.Notices} notices");
        Assert.NotEmpty(observer.Items);
        Assert.NotNull(observer.Items[^1].Usage);
    }

    /// <summary>An observer whose first "running on" notice is never answered (what a lost message looks like to the silo).</summary>
    private sealed class LosingObserver : IChatStreamObserver
    {
        private int _notices;

        public int Notices => Volatile.Read(ref _notices);

        public List<ChatStreamItem> Items { get; } = [];

        public Task OnRunningAsync(SiloAddress silo) =>
            Interlocked.Increment(ref _notices) == 1 ? new TaskCompletionSource().Task : Task.CompletedTask;

        public Task OnItemsAsync(ChatStreamItem[] items)
        {
            lock (Items)
            {
                Items.AddRange(items);
            }

            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_stream_that_fails_after_its_first_chunk_ends_with_an_error_and_partial_usage()
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("a reply long enough to be cut [simulate:midstream]"), Ctx(action: "work"), TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        Assert.Equal("a-small", items[0].Model); // no fallback once a chunk went out
        var last = items[^1];
        Assert.Equal(ProviderErrorClass.Server, last.ErrorClass);
        Assert.Equal("error", last.FinishReason);
        Assert.True(last.Usage!.CompletionTokens > 0);
        Assert.Equal(2, items.Count(i => i.TextDelta is not null));
    }

    [Fact]
    public async Task Upstream_http_errors_are_retried_or_skipped_by_class_then_fall_back()
    {
        var transient = await Router.CompleteAsync(Ask("[mock:server] t"), Ctx(action: "upstream"));
        Assert.Equal("b-small", transient.Model);
        Assert.Equal(["m-up:server", "m-up:server", "b-small:"], transient.Attempts.Select(a => $"{a.Model}:{a.ErrorClass?.Name()}"));

        var permanent = await Router.CompleteAsync(Ask("[mock:not_found] p"), Ctx(action: "upstream"));
        Assert.Equal(["m-up:not_found", "b-small:"], permanent.Attempts.Select(a => $"{a.Model}:{a.ErrorClass?.Name()}"));

        var ok = await Router.CompleteAsync(Ask("over http"), Ctx(action: "upstream"));
        Assert.Equal(("m-up", "Mock reply to: over http"), (ok.Model, ok.Message.Text));
        Assert.Equal(((ok.Usage.PromptTokens * 2m) + (ok.Usage.CompletionTokens * 4m)) / 1_000_000m, ok.CostUsd); // m-up: 2 / 4 USD per 1M
    }

    [Fact]
    public async Task An_upstream_stream_is_forwarded_and_a_mid_stream_error_ends_it_with_partial_usage()
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("stream over http"), Ctx(action: "upstream"), TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        Assert.Equal("m-up", items[0].Model);
        Assert.Equal("Mock reply to: stream over http", string.Concat(items.Select(i => i.TextDelta)));
        Assert.True(items[^1].Usage!.CompletionTokens > 0);

        var cut = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("a reply long enough to be cut [mock:midstream]"), Ctx(action: "upstream"), TestContext.Current.CancellationToken))
        {
            cut.Add(item);
        }

        Assert.Equal("m-up", cut[0].Model); // no fallback after the first chunk
        Assert.Equal(ProviderErrorClass.Server, cut[^1].ErrorClass);
        Assert.True(cut[^1].Usage!.CompletionTokens > 0);

        var fallback = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("[mock:overloaded] before any chunk"), Ctx(action: "upstream"), TestContext.Current.CancellationToken))
        {
            fallback.Add(item);
        }

        Assert.Equal("b-small", fallback[0].Model);
    }

    [Fact]
    public async Task A_cancelled_caller_cancels_the_upstream_request()
    {
        var before = fx.Mock.AbortedRequests;
        var received = fx.Mock.Requests.Count;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var context = Ctx(model: "m-up");
        using var cancelWhen = Router.CancelWhen(context, cts.Token); // what every caller (HTTP front end, IChatClient) does
        var call = Router.CompleteAsync(Ask("[mock:slow] wait"), context, cts.Token);
        for (var i = 0; i < 250 && fx.Mock.Requests.Count == received; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken); // until the upstream request is in flight
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        for (var i = 0; i < 250 && fx.Mock.AbortedRequests == before; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(fx.Mock.AbortedRequests > before, "the upstream request was aborted");
    }

    [Fact]
    public async Task A_stream_abandoned_by_its_caller_aborts_the_upstream_request()
    {
        var before = fx.Mock.AbortedRequests;
        fx.Mock.Timing = new MockUpstream.MockTiming(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMilliseconds(150));
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            var context = Ctx(model: "m-up");
            using var cancelWhen = Router.CancelWhen(context, cts.Token);
            await foreach (var item in Router.StreamAsync(Ask("a long answer that will be abandoned after its first words"), context, cts.Token))
            {
                if (item.TextDelta is { Length: > 0 })
                {
                    break; // the caller walks away
                }
            }

            await cts.CancelAsync();
            for (var i = 0; i < 250 && fx.Mock.AbortedRequests == before; i++)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            Assert.True(fx.Mock.AbortedRequests > before, "the upstream stream was aborted");
        }
        finally
        {
            fx.Mock.Timing = MockUpstream.MockTiming.Instant;
        }
    }

    [Fact]
    public async Task Many_concurrent_streams_all_complete()
    {
        fx.Mock.Timing = new MockUpstream.MockTiming(TimeSpan.Zero, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(2));
        try
        {
            var streams = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
            {
                var text = new System.Text.StringBuilder();
                await foreach (var item in Router.StreamAsync(Ask($"concurrent stream number {i} with a few words"), Ctx(model: "m-up"), TestContext.Current.CancellationToken))
                {
                    text.Append(item.TextDelta);
                }

                return text.ToString();
            }, TestContext.Current.CancellationToken)).ToList();
            var texts = await Task.WhenAll(streams);
            for (var i = 0; i < texts.Length; i++)
            {
                Assert.Equal($"Mock reply to: concurrent stream number {i} with a few words", texts[i]);
            }
        }
        finally
        {
            fx.Mock.Timing = MockUpstream.MockTiming.Instant;
        }
    }
}
