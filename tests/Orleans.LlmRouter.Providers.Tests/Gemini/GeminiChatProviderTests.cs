using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Gemini;

namespace Orleans.LlmRouter.Providers.Tests.Gemini;

public sealed class GeminiMockUpstreamFixture : IAsyncLifetime
{
    public MockUpstreamServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await MockUpstreamServer.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The Gemini adapter against the wire-faithful mock, over real HTTP on loopback.</summary>
public sealed class GeminiChatProviderTests(GeminiMockUpstreamFixture mock) : IClassFixture<GeminiMockUpstreamFixture>
{
    private const string Key = "AIzaSy-test-SECRET-never-logged-123";
    private const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""";

    private static readonly ModelDefinition Model = new("gemini-mock", "gm", "mock-small", new HashSet<Capability> { Capability.Chat }, 1_000_000, 65_536, new ModelPricing(1, 2), null, SourceLocation.None);
    private static readonly ModelDefinition EmbedModel = new("gemini-embed", "gm", "mock-embed", new HashSet<Capability> { Capability.Embedding }, 2048, 1, new ModelPricing(1, 0), null, SourceLocation.None);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(TimeSpan? timeout = null, string? baseUrl = null) =>
        new("gm", ProviderTypes.Gemini, baseUrl ?? mock.Server.BaseAddress.ToString(), "TEST_KEY", timeout ?? TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);

    private GeminiChatProvider Adapter(TimeSpan? timeout = null, string? key = Key) => new(Provider(timeout), new HttpClient(), key);

    private ProviderCall Call(ChatRequest request, ModelDefinition? model = null) => new(request, model ?? Model, Provider());

    private static ChatRequest Ask(string text) =>
        new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100, Temperature = 0.2, TopP = 0.9, Seed = 7, Stop = ["END"] };

    private static ChatRequest WithTools(params RouterMessage[] messages) =>
        new(messages) { Tools = [new ToolDefinition("get_weather", "Weather of a city", WeatherSchema), new ToolDefinition("get_time", "Time in a zone", """{"type":"object"}""")] };

    private MockRequest Last => mock.Server.Requests[^1];

    private JsonElement LastBody() => JsonDocument.Parse(Last.Body).RootElement;

    private static async Task<List<ProviderStreamChunk>> Collect(IAsyncEnumerable<ProviderStreamChunk> stream)
    {
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in stream)
        {
            chunks.Add(c);
        }

        return chunks;
    }

    private static long Tokens(string reply) => (reply.Length / 4) + 1; // the mock's count

    [Fact]
    public async Task Text_completion_sends_the_gemini_request_shape_with_the_key_in_a_header_only()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello adapter")), Ct);
        Assert.Equal("Mock reply to: hello adapter", r.Message.Text);
        Assert.Equal("assistant", r.Message.Role);
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal(Tokens("Mock reply to: hello adapter"), r.Usage.CompletionTokens);
        Assert.True(r.Usage.PromptTokens > 0);
        Assert.False(string.IsNullOrEmpty(r.UpstreamId));

        Assert.Equal("/v1beta/models/mock-small:generateContent", Last.Path); // path and query: no key in the URL
        Assert.Equal(Key, Last.Headers["x-goog-api-key"]);
        Assert.False(Last.Headers.ContainsKey("authorization"));
        Assert.DoesNotContain(Key, Last.Body, StringComparison.Ordinal);

        var sent = LastBody();
        Assert.Equal("be brief", sent.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());
        var contents = sent.GetProperty("contents");
        Assert.Equal(1, contents.GetArrayLength()); // the system message is not a turn
        Assert.Equal("user", contents[0].GetProperty("role").GetString());
        Assert.Equal("hello adapter", contents[0].GetProperty("parts")[0].GetProperty("text").GetString());
        var config = sent.GetProperty("generationConfig");
        Assert.Equal(0.2, config.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, config.GetProperty("topP").GetDouble());
        Assert.Equal(100, config.GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal("END", config.GetProperty("stopSequences")[0].GetString());
        Assert.Equal(7, config.GetProperty("seed").GetInt64());
        Assert.False(config.TryGetProperty("responseMimeType", out _));

        var prefixed = Model with { ProviderModel = "models/mock-small" };
        await Adapter().CompleteAsync(Call(Ask("prefixed"), prefixed), Ct);
        Assert.Equal("/v1beta/models/mock-small:generateContent", Last.Path);
    }

    [Fact]
    public async Task Roles_map_to_user_and_model_and_consecutive_turns_of_one_role_are_merged()
    {
        var request = new ChatRequest([
            RouterMessage.FromText("system", "one"), RouterMessage.FromText("developer", "two"), RouterMessage.FromText("user", "a"),
            RouterMessage.FromText("assistant", "b"), RouterMessage.FromText("user", "c"), RouterMessage.FromText("user", "d"),
        ]);
        var r = await Adapter().CompleteAsync(Call(request), Ct);
        Assert.Equal("Mock reply to: cd", r.Message.Text);

        var sent = LastBody();
        Assert.Equal(["one", "two"], sent.GetProperty("systemInstruction").GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        var contents = sent.GetProperty("contents").EnumerateArray().ToList();
        Assert.Equal(["user", "model", "user"], contents.Select(c => c.GetProperty("role").GetString()));
        Assert.Equal(["c", "d"], contents[2].GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.False(sent.TryGetProperty("generationConfig", out _));
    }

    [Fact]
    public async Task Streaming_forwards_each_chunk_and_takes_the_usage_of_the_last_one()
    {
        var chunks = await Collect(Adapter().StreamAsync(Call(Ask("stream it please")), Ct));
        const string reply = "Mock reply to: stream it please";
        Assert.Equal(reply, string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.True(chunks.Count > 3);
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.Equal(Tokens(reply), chunks[^1].Usage!.CompletionTokens); // earlier chunks carry smaller running counts
        Assert.True(chunks[^1].Usage!.PromptTokens > 0);
        Assert.Equal("/v1beta/models/mock-small:streamGenerateContent?alt=sse", Last.Path);
        Assert.Equal(Key, Last.Headers["x-goog-api-key"]);
    }

    [Fact]
    public async Task A_stream_is_not_buffered_and_a_caller_who_stops_aborts_the_upstream_request()
    {
        mock.Server.Timing = new MockTiming(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMinutes(5));
        try
        {
            var abortedBefore = mock.Server.AbortedRequests;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(TimeSpan.FromSeconds(30)); // safety net only: the first chunk comes at once unless the stream is buffered
            string? first = null;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var c in Adapter().StreamAsync(Call(Ask("a slow stream")), cts.Token))
                {
                    first ??= c.TextDelta;
                    cts.CancelAfter(TimeSpan.FromMilliseconds(100)); // lands while the adapter awaits the next chunk
                }
            });
            Assert.Equal("Mock rep", first);
            for (var i = 0; i < 200 && mock.Server.AbortedRequests == abortedBefore; i++)
            {
                await Task.Delay(20, Ct);
            }

            Assert.True(mock.Server.AbortedRequests > abortedBefore, "the mock saw the request aborted");
        }
        finally
        {
            mock.Server.Timing = MockTiming.Instant;
        }
    }

    [Fact]
    public async Task Usage_maps_cached_and_thought_tokens_and_thought_summaries_stay_out_of_the_answer()
    {
        var cached = await Adapter().CompleteAsync(Call(Ask("cache me [mock:cache]")), Ct);
        Assert.True(cached.Usage.CachedTokens > 0);
        Assert.Equal(cached.Usage.PromptTokens / 2, cached.Usage.CachedTokens); // cached is a subset of prompt
        Assert.Equal(0, cached.Usage.ReasoningTokens);

        const string reply = "Mock reply to: think [mock:reasoning]";
        var thinking = await Adapter().CompleteAsync(Call(Ask("think [mock:reasoning]")), Ct);
        Assert.Equal(reply, thinking.Message.Text);
        Assert.Equal(3, thinking.Usage.ReasoningTokens);
        Assert.Equal(Tokens(reply) + 3, thinking.Usage.CompletionTokens); // candidates + thoughts
        Assert.Equal(0, thinking.Usage.CachedTokens);

        var streamed = await Collect(Adapter().StreamAsync(Call(Ask("think [mock:reasoning]")), Ct));
        Assert.Equal(reply, string.Concat(streamed.Select(c => c.TextDelta)));
        Assert.Equal(thinking.Usage with { PromptTokens = streamed[^1].Usage!.PromptTokens }, streamed[^1].Usage);

        var cut = await Adapter().CompleteAsync(Call(Ask("a reply longer than two tokens") with { MaxOutputTokens = 2 }), Ct);
        Assert.Equal("length", cut.FinishReason);
        Assert.Equal("Mock rep", cut.Message.Text);
    }

    [Fact]
    public async Task Tools_are_declared_and_a_function_call_part_becomes_a_tool_call_with_compact_arguments()
    {
        var request = WithTools(RouterMessage.FromText("user", "weather?")) with { ToolChoice = "get_weather" };
        var r = await Adapter().CompleteAsync(Call(request), Ct);
        Assert.Equal("tool_calls", r.FinishReason);
        var call = Assert.Single(r.Message.ToolCalls!);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"Paris"}""", call.ArgumentsJson); // the mock pretty-prints its JSON
        Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
        Assert.Empty(r.Message.Content);

        var sent = LastBody();
        var declarations = sent.GetProperty("tools")[0].GetProperty("functionDeclarations");
        Assert.Equal(["get_weather", "get_time"], declarations.EnumerateArray().Select(d => d.GetProperty("name").GetString()));
        Assert.Equal("Weather of a city", declarations[0].GetProperty("description").GetString());
        Assert.False(declarations[0].GetProperty("parametersJsonSchema").GetProperty("additionalProperties").GetBoolean());
        var calling = sent.GetProperty("toolConfig").GetProperty("functionCallingConfig");
        Assert.Equal("ANY", calling.GetProperty("mode").GetString());
        Assert.Equal("get_weather", calling.GetProperty("allowedFunctionNames")[0].GetString());

        var streamed = await Collect(Adapter().StreamAsync(Call(request), Ct));
        var streamedCall = Assert.Single(streamed.Single(c => c.ToolCalls is not null).ToolCalls!);
        Assert.Equal(("get_weather", """{"city":"Paris"}"""), (streamedCall.Name, streamedCall.ArgumentsJson));
        Assert.StartsWith("call_", streamedCall.Id, StringComparison.Ordinal);
        Assert.Equal("tool_calls", streamed[^1].FinishReason);
    }

    [Theory]
    [InlineData("auto", "AUTO")]
    [InlineData("none", "NONE")]
    [InlineData("required", "ANY")]
    public async Task Tool_choice_maps_to_the_function_calling_mode(string choice, string mode)
    {
        await Adapter().CompleteAsync(Call(WithTools(RouterMessage.FromText("user", "weather?")) with { ToolChoice = choice }), Ct);
        var calling = LastBody().GetProperty("toolConfig").GetProperty("functionCallingConfig");
        Assert.Equal(mode, calling.GetProperty("mode").GetString());
        Assert.False(calling.TryGetProperty("allowedFunctionNames", out _));
    }

    [Fact]
    public async Task Assistant_tool_calls_and_tool_results_become_function_call_and_function_response_parts()
    {
        var request = WithTools(
            RouterMessage.FromText("user", "weather and time?"),
            new RouterMessage("assistant", [], ToolCalls: [new ToolCall("call_1", "get_weather", """{"city":"Paris"}"""), new ToolCall("call_2", "get_time", """{"tz":"CET"}""")]),
            new RouterMessage("tool", [ContentPart.FromText("""{"temp":21}""")], ToolCallId: "call_1"),
            new RouterMessage("tool", [ContentPart.FromText("noon")], ToolCallId: "call_2"));
        var r = await Adapter().CompleteAsync(Call(request), Ct);
        Assert.Equal("Mock reply to: the get_weather result", r.Message.Text);
        Assert.Equal("stop", r.FinishReason);

        var contents = LastBody().GetProperty("contents");
        Assert.Equal(3, contents.GetArrayLength());
        var model = contents[1];
        Assert.Equal("model", model.GetProperty("role").GetString());
        var calls = model.GetProperty("parts");
        Assert.Equal("get_weather", calls[0].GetProperty("functionCall").GetProperty("name").GetString());
        Assert.Equal("Paris", calls[0].GetProperty("functionCall").GetProperty("args").GetProperty("city").GetString());
        Assert.True(calls[0].TryGetProperty("thoughtSignature", out _)); // Gemini 3 requires one on the first call of a step
        Assert.Equal("get_time", calls[1].GetProperty("functionCall").GetProperty("name").GetString());
        Assert.False(calls[1].TryGetProperty("thoughtSignature", out _));

        var results = contents[2];
        Assert.Equal("user", results.GetProperty("role").GetString());
        var weather = results.GetProperty("parts")[0].GetProperty("functionResponse");
        Assert.Equal("get_weather", weather.GetProperty("name").GetString()); // looked up from the call id
        Assert.Equal(21, weather.GetProperty("response").GetProperty("temp").GetInt32());
        var time = results.GetProperty("parts")[1].GetProperty("functionResponse");
        Assert.Equal("get_time", time.GetProperty("name").GetString());
        Assert.Equal("noon", time.GetProperty("response").GetProperty("output").GetString());
    }

    [Fact]
    public async Task A_tool_result_for_an_unknown_call_is_refused_before_sending()
    {
        var before = mock.Server.Requests.Count;
        var request = WithTools(RouterMessage.FromText("user", "x"), new RouterMessage("tool", [ContentPart.FromText("42")], ToolCallId: "call_unknown"));
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => Adapter().CompleteAsync(Call(request), Ct));
        Assert.Contains("call_unknown", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.Null(ex.StatusCode);
        Assert.Equal(before, mock.Server.Requests.Count);
    }

    [Fact]
    public async Task Json_schema_and_json_mode_set_the_response_mime_type_and_schema()
    {
        var schema = new ChatRequest([RouterMessage.FromText("user", "json")])
        {
            ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "answer", """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""", true),
        };
        var r = await Adapter().CompleteAsync(Call(schema), Ct);
        Assert.Equal("json", JsonDocument.Parse(r.Message.Text).RootElement.GetProperty("answer").GetString());
        var config = LastBody().GetProperty("generationConfig");
        Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
        Assert.Equal("string", config.GetProperty("responseJsonSchema").GetProperty("properties").GetProperty("answer").GetProperty("type").GetString());

        await Adapter().CompleteAsync(Call(schema with { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonObject) }), Ct);
        config = LastBody().GetProperty("generationConfig");
        Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
        Assert.False(config.TryGetProperty("responseJsonSchema", out _));
    }

    [Fact]
    public async Task A_base64_image_is_sent_inline_and_an_image_url_is_refused_before_sending()
    {
        var inline = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("see"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=")])]);
        var r = await Adapter().CompleteAsync(Call(inline), Ct);
        Assert.True(r.Usage.PromptTokens >= 258, "the mock bills the image");
        var parts = LastBody().GetProperty("contents")[0].GetProperty("parts");
        Assert.Equal("see", parts[0].GetProperty("text").GetString());
        Assert.Equal("image/png", parts[1].GetProperty("inlineData").GetProperty("mimeType").GetString());
        Assert.Equal("iVBORw0KGgo=", parts[1].GetProperty("inlineData").GetProperty("data").GetString());

        var before = mock.Server.Requests.Count;
        var url = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("see"), ContentPart.FromImage("https://images.invalid/cat.png?sig=SIGNED-SECRET")])]);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => Adapter().CompleteAsync(Call(url), Ct));
        Assert.Contains("data URI", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("SIGNED-SECRET", ex.ToString(), StringComparison.Ordinal);
        Assert.Null(ex.StatusCode);

        var raw = new ChatRequest([new RouterMessage("user", [ContentPart.FromImage("data:image/png,not-base64")])]);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => Adapter().CompleteAsync(Call(raw), Ct));
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, async () => await Collect(Adapter().StreamAsync(Call(url), Ct)));
        Assert.Equal(before, mock.Server.Requests.Count);
    }

    [Fact]
    public async Task Embeddings_use_batch_embed_contents_in_batches_of_100_with_estimated_tokens()
    {
        var e = await Adapter().EmbedAsync(new EmbeddingCall(["a", "bb"], EmbedModel, Provider(), 4), Ct);
        Assert.Equal(2, e.Vectors.Count);
        Assert.All(e.Vectors, v => Assert.Equal(4, v.Length));
        Assert.Equal(TokenEstimator.EstimateText("a") + TokenEstimator.EstimateText("bb"), e.PromptTokens);
        Assert.Equal("/v1beta/models/mock-embed:batchEmbedContents", Last.Path);
        var first = LastBody().GetProperty("requests")[0];
        Assert.Equal("models/mock-embed", first.GetProperty("model").GetString());
        Assert.Equal("a", first.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal(4, first.GetProperty("outputDimensionality").GetInt32());

        var before = mock.Server.Requests.Count;
        var inputs = Enumerable.Range(0, 150).Select(i => new string('x', (i % 7) + 1)).ToList();
        var many = await Adapter().EmbedAsync(new EmbeddingCall(inputs, EmbedModel, Provider()), Ct);
        Assert.Equal(2, mock.Server.Requests.Count - before);
        Assert.Equal(150, many.Vectors.Count);
        Assert.All(Enumerable.Range(0, 150), i => Assert.Equal(inputs[i].Length % 7 / 7f, many.Vectors[i][0])); // input order kept
        Assert.False(LastBody().GetProperty("requests")[0].TryGetProperty("outputDimensionality", out _));
    }

    [Fact]
    public async Task Models_are_listed_across_pages_without_the_models_prefix_and_health_uses_that_list()
    {
        var before = mock.Server.Requests.Count;
        var models = await Adapter().ListModelsAsync(Ct);
        Assert.Equal(["mock-small", "mock-large", "mock-embed"], models);
        Assert.Equal(2, mock.Server.Requests.Count - before); // the mock pages by two
        Assert.Contains("pageToken=2", Last.Path, StringComparison.Ordinal);
        Assert.Equal(Key, Last.Headers["x-goog-api-key"]);

        var health = await Adapter().CheckHealthAsync(Ct);
        Assert.True(health.Healthy);
        Assert.Equal("3 models", health.Detail);
    }

    [Theory]
    [InlineData("rate_limit", ProviderErrorClass.RateLimited, 429, 2000.0)]
    [InlineData("rate_limit_ms", ProviderErrorClass.RateLimited, 429, 1500.0)]
    [InlineData("rate_limit_retryinfo", ProviderErrorClass.RateLimited, 429, 12000.0)]
    [InlineData("server", ProviderErrorClass.Server, 500, null)]
    [InlineData("overloaded", ProviderErrorClass.Overloaded, 503, null)]
    [InlineData("auth", ProviderErrorClass.Authentication, 400, null)]
    [InlineData("unauthenticated", ProviderErrorClass.Authentication, 401, null)]
    [InlineData("permission", ProviderErrorClass.Permission, 403, null)]
    [InlineData("precondition", ProviderErrorClass.Permission, 400, null)]
    [InlineData("not_found", ProviderErrorClass.NotFound, 404, null)]
    [InlineData("bad_request", ProviderErrorClass.BadRequest, 400, null)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, 400, null)]
    public async Task Each_google_error_is_typed_with_status_and_retry_after(string scenario, ProviderErrorClass expected, int status, double? retryAfterMs)
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask($"fail [mock:{scenario}]")), Ct));
        Assert.Equal(expected, ex.ErrorClass);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal("gm", ex.Provider);
        Assert.Equal("mock-small", ex.Model);
        Assert.Equal(retryAfterMs, ex.RetryAfter?.TotalMilliseconds);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);

        var streamed = await Assert.ThrowsAnyAsync<ProviderException>(async () => await Collect(Adapter().StreamAsync(Call(Ask($"fail [mock:{scenario}]")), Ct)));
        Assert.Equal((expected, status), (streamed.ErrorClass, streamed.StatusCode));
    }

    [Fact]
    public async Task Deadline_exceeded_is_a_timeout_and_an_http_date_retry_after_is_honoured()
    {
        var deadline = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => Adapter().CompleteAsync(Call(Ask("[mock:deadline]")), Ct));
        Assert.True(deadline.IsTransient);
        Assert.Contains("Deadline expired", deadline.ProviderMessage, StringComparison.Ordinal);

        var dated = await ProviderAssert.ThrowsAsync(ProviderErrorClass.RateLimited, () => Adapter().CompleteAsync(Call(Ask("[mock:rate_limit_date]")), Ct));
        Assert.InRange(dated.RetryAfter!.Value.TotalSeconds, 0, 4);
        Assert.True(dated.IsTransient);
    }

    [Fact]
    public async Task A_missing_key_is_an_authentication_error_and_an_echoed_key_is_redacted()
    {
        var missing = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Authentication, () => Adapter(key: null).CompleteAsync(Call(Ask("no key")), Ct));
        Assert.Equal(403, missing.StatusCode);
        Assert.False(Last.Headers.ContainsKey("x-goog-api-key"));

        var echoed = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, () => Adapter().CompleteAsync(Call(Ask("[mock:echo_key]")), Ct));
        Assert.DoesNotContain(Key, echoed.ToString(), StringComparison.Ordinal);
        Assert.Contains("x-goog-api-key=***", echoed.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blocked_prompt_is_a_content_policy_error_and_a_safety_finish_is_content_filter()
    {
        var blocked = await ProviderAssert.ThrowsAsync(ProviderErrorClass.ContentPolicy, () => Adapter().CompleteAsync(Call(Ask("bad [mock:content_policy]")), Ct));
        Assert.Contains("SAFETY", blocked.ProviderMessage, StringComparison.Ordinal);
        Assert.False(blocked.IsTransient);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.ContentPolicy, async () => await Collect(Adapter().StreamAsync(Call(Ask("bad [mock:content_policy]")), Ct)));

        var filtered = await Adapter().CompleteAsync(Call(Ask("risky [mock:safety]")), Ct);
        Assert.Equal("content_filter", filtered.FinishReason);
        Assert.Empty(filtered.Message.Content);
        var streamed = await Collect(Adapter().StreamAsync(Call(Ask("risky [mock:safety]")), Ct));
        Assert.Equal("content_filter", streamed[^1].FinishReason);
    }

    [Fact]
    public async Task A_mid_stream_error_surfaces_as_a_typed_error_after_the_chunks()
    {
        var seen = 0;
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("a long enough reply to break [mock:midstream]")), Ct))
            {
                seen++;
            }
        });
        Assert.Equal(2, seen);
        Assert.Contains("internal error", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task A_slow_upstream_is_a_timeout_and_a_cancelled_caller_aborts_the_upstream_request()
    {
        var timeout = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => Adapter(TimeSpan.FromMilliseconds(200)).CompleteAsync(Call(Ask("[mock:slow]")), Ct));
        Assert.True(timeout.IsTransient);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, async () => await Collect(Adapter(TimeSpan.FromMilliseconds(200)).StreamAsync(Call(Ask("[mock:slow]")), Ct)));

        var abortedBefore = mock.Server.AbortedRequests;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Adapter().CompleteAsync(Call(Ask("[mock:slow]")), cts.Token));
        for (var i = 0; i < 100 && mock.Server.AbortedRequests == abortedBefore; i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(mock.Server.AbortedRequests > abortedBefore, "the mock saw the request aborted");
    }

    [Fact]
    public async Task A_refused_connection_is_a_connection_error()
    {
        var closed = Provider(baseUrl: "http://127.0.0.1:9");
        var adapter = new GeminiChatProvider(closed, new HttpClient(), Key);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Connection, () => adapter.CompleteAsync(new ProviderCall(Ask("x"), Model, closed), Ct));
        Assert.True(ex.IsTransient);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_factory_serves_the_gemini_type_and_reads_the_key_from_the_environment()
    {
        var factory = new GeminiProviderFactory(new PlainHttpClientFactory(), name => name == "TEST_KEY" ? "AIza-from-env" : null);
        Assert.Equal("gemini", factory.Type);
        var adapter = factory.Create(Provider());
        await adapter.CompleteAsync(Call(Ask("from the factory")), Ct);
        Assert.Equal("AIza-from-env", Last.Headers["x-goog-api-key"]);
    }

    private sealed class PlainHttpClientFactory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }
}
