using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Ollama;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Ollama;

/// <summary>The Ollama native-API adapter against the wire-faithful mock, over real HTTP on loopback.</summary>
public sealed class OllamaChatProviderTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "ollama-proxy-SECRET-token-789";

    private static readonly ModelDefinition Model = new("llama-mock", "ol", "mock-small", new HashSet<Capability> { Capability.Chat }, 8192, 2048, new ModelPricing(0, 0), null, SourceLocation.None);

    private static readonly ToolDefinition Weather = new("get_weather", "Current weather", """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(TimeSpan? timeout = null, string? baseUrl = null, Dictionary<string, string>? options = null) =>
        new("ol", ProviderTypes.Ollama, baseUrl ?? mock.Server.BaseAddress.ToString(), "OLLAMA_TEST_KEY", timeout ?? TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, options ?? [], SourceLocation.None);

    private OllamaChatProvider Adapter(TimeSpan? timeout = null, string? key = Key, Dictionary<string, string>? options = null) =>
        new(Provider(timeout, options: options), new HttpClient(), key);

    private ProviderCall Call(ChatRequest request) => new(request, Model, Provider());

    private static ChatRequest Ask(string text) =>
        new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100, Temperature = 0.2, TopP = 0.9, Seed = 7, Stop = ["END"] };

    private MockRequest Last => mock.Server.Requests[^1];

    private JsonElement LastBody() => JsonDocument.Parse(Last.Body).RootElement;

    private static async Task<List<ProviderStreamChunk>> DrainAsync(IAsyncEnumerable<ProviderStreamChunk> stream, List<ProviderStreamChunk>? seen = null)
    {
        seen ??= [];
        await foreach (var c in stream)
        {
            seen.Add(c);
        }

        return seen;
    }

    /// <summary>What the mock answers to a body, read without the adapter (to compare the adapter's mapping with the wire).</summary>
    private async Task<JsonElement> RawChatAsync(string body)
    {
        using var http = new HttpClient { BaseAddress = mock.Server.BaseAddress };
        using var response = await http.PostAsync("api/chat", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();
    }

    [Fact]
    public async Task Text_completion_sends_the_native_request_shape_and_maps_usage_from_the_eval_counts()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello adapter")), Ct);
        Assert.Equal("Mock reply to: hello adapter", r.Message.Text);
        Assert.Equal("assistant", r.Message.Role);
        Assert.Equal("stop", r.FinishReason);
        Assert.Null(r.Message.ToolCalls);

        var sent = Last;
        Assert.Equal("/api/chat", sent.Path);
        Assert.Equal("Bearer " + Key, sent.Headers["authorization"]);
        var body = JsonDocument.Parse(sent.Body).RootElement;
        Assert.Equal("mock-small", body.GetProperty("model").GetString());
        Assert.False(body.GetProperty("stream").GetBoolean()); // Ollama streams unless told not to
        Assert.Equal(("system", "be brief"), (body.GetProperty("messages")[0].GetProperty("role").GetString(), body.GetProperty("messages")[0].GetProperty("content").GetString()));
        Assert.Equal("user", body.GetProperty("messages")[1].GetProperty("role").GetString());
        var options = body.GetProperty("options");
        Assert.Equal(0.2, options.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, options.GetProperty("top_p").GetDouble());
        Assert.Equal(100, options.GetProperty("num_predict").GetInt32());
        Assert.Equal(7, options.GetProperty("seed").GetInt64());
        Assert.Equal(["END"], options.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        foreach (var openAiOnly in new[] { "temperature", "max_tokens", "stop", "format", "tools", "keep_alive" })
        {
            Assert.False(body.TryGetProperty(openAiOnly, out _), openAiOnly);
        }

        var wire = await RawChatAsync(sent.Body);
        Assert.Equal(wire.GetProperty("prompt_eval_count").GetInt64(), r.Usage.PromptTokens);
        Assert.Equal(wire.GetProperty("eval_count").GetInt64(), r.Usage.CompletionTokens);
        Assert.NotEqual(r.Usage.PromptTokens, r.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Developer_becomes_system_and_provider_options_set_keep_alive_and_num_ctx()
    {
        var request = new ChatRequest([RouterMessage.FromText("developer", "rules"), RouterMessage.FromText("user", "hi")]);
        await Adapter(options: new() { ["keep_alive"] = "10m", ["num_ctx"] = "4096" }).CompleteAsync(Call(request), Ct);
        var body = LastBody();
        Assert.Equal("system", body.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("10m", body.GetProperty("keep_alive").GetString());
        Assert.Equal(4096, body.GetProperty("options").GetProperty("num_ctx").GetInt32());

        await Adapter(options: new() { ["keep_alive"] = "-1" }).CompleteAsync(Call(request), Ct);
        Assert.Equal(-1, LastBody().GetProperty("keep_alive").GetInt32());
        Assert.False(LastBody().TryGetProperty("options", out _));
    }

    [Fact]
    public async Task Without_a_key_no_authorization_is_sent_and_the_factory_reads_the_key_from_the_environment()
    {
        await Adapter(key: null).CompleteAsync(Call(Ask("no key")), Ct);
        Assert.False(Last.Headers.ContainsKey("authorization"));

        var withKey = new OllamaProviderFactory(new Clients(), name => name == "OLLAMA_TEST_KEY" ? Key : null);
        Assert.Equal(ProviderTypes.Ollama, withKey.Type);
        await withKey.Create(Provider()).CompleteAsync(Call(Ask("proxy")), Ct);
        Assert.Equal("Bearer " + Key, Last.Headers["authorization"]);

        await new OllamaProviderFactory(new Clients(), _ => null).Create(Provider()).CompleteAsync(Call(Ask("local")), Ct);
        Assert.False(Last.Headers.ContainsKey("authorization"));
    }

    [Fact]
    public async Task Streaming_reads_ndjson_lines_and_takes_usage_and_finish_from_the_done_line()
    {
        var chunks = await DrainAsync(Adapter().StreamAsync(Call(Ask("stream it please")), Ct));
        var text = chunks.Where(c => c.TextDelta is not null).ToList();
        Assert.Equal("Mock reply to: stream it please", string.Concat(text.Select(c => c.TextDelta)));
        Assert.True(text.Count > 3);
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c.FinishReason));
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.Equal(text.Count, chunks[^1].Usage!.CompletionTokens); // the mock counts one token per line
        Assert.True(chunks[^1].Usage!.PromptTokens > 0);
        Assert.True(LastBody().GetProperty("stream").GetBoolean());
    }

    [Fact]
    public async Task Num_predict_cuts_the_reply_and_length_is_the_finish_reason()
    {
        var capped = Ask("a reply longer than two tokens") with { MaxOutputTokens = 2 };
        var r = await Adapter().CompleteAsync(Call(capped), Ct);
        Assert.Equal("length", r.FinishReason);
        Assert.Equal(2, r.Usage.CompletionTokens);
        Assert.Equal("Mock reply to: a", r.Message.Text);
        Assert.Equal(2, LastBody().GetProperty("options").GetProperty("num_predict").GetInt32());

        var streamed = await DrainAsync(Adapter().StreamAsync(Call(capped), Ct));
        Assert.Equal("length", streamed[^1].FinishReason);
        Assert.Equal(2, streamed[^1].Usage!.CompletionTokens);
    }

    [Fact]
    public async Task A_missing_prompt_eval_count_is_zero_prompt_tokens()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("[mock:cached] again")), Ct);
        Assert.Equal(0, r.Usage.PromptTokens);
        Assert.True(r.Usage.CompletionTokens > 0);

        var streamed = await DrainAsync(Adapter().StreamAsync(Call(Ask("[mock:cached] again")), Ct));
        Assert.Equal(0, streamed[^1].Usage!.PromptTokens);
        Assert.True(streamed[^1].Usage!.CompletionTokens > 0);
    }

    [Fact]
    public async Task Tools_go_out_as_functions_and_object_arguments_come_back_as_compact_strings()
    {
        var request = new ChatRequest([RouterMessage.FromText("user", "weather in Paris and London?")])
        {
            Tools = [Weather, new ToolDefinition("get_forecast", null, """{"type":"object"}""")],
        };
        var r = await Adapter().CompleteAsync(Call(request), Ct);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Equal(
            [new ToolCall("call_mock0001", "get_weather", """{"city":"Paris","days":3}"""), new ToolCall("call_mock0002", "get_forecast", """{"city":"London","days":3}""")],
            r.Message.ToolCalls!);
        Assert.Empty(r.Message.Text);

        var tools = LastBody().GetProperty("tools");
        Assert.Equal(2, tools.GetArrayLength());
        Assert.Equal("function", tools[0].GetProperty("type").GetString());
        var fn = tools[0].GetProperty("function");
        Assert.Equal(("get_weather", "Current weather"), (fn.GetProperty("name").GetString(), fn.GetProperty("description").GetString()));
        Assert.Equal(JsonValueKind.Object, fn.GetProperty("parameters").ValueKind);
        Assert.Equal("city", fn.GetProperty("parameters").GetProperty("required")[0].GetString());
        Assert.False(tools[1].GetProperty("function").TryGetProperty("description", out _));

        var streamed = await DrainAsync(Adapter().StreamAsync(Call(request), Ct));
        var calls = Assert.Single(streamed, c => c.ToolCalls is not null).ToolCalls!;
        Assert.Equal(["get_weather", "get_forecast"], calls.Select(c => c.Name));
        Assert.Equal("""{"city":"Paris","days":3}""", calls[0].ArgumentsJson);
        Assert.Equal("tool_calls", streamed[^1].FinishReason);
    }

    [Fact]
    public async Task Tool_calls_without_ids_get_distinct_generated_ids()
    {
        var request = new ChatRequest([RouterMessage.FromText("user", "weather? [mock:tool_call_no_id]")]) { Tools = [Weather, new ToolDefinition("get_forecast", null, null)] };
        var r = await Adapter().CompleteAsync(Call(request), Ct);
        var ids = r.Message.ToolCalls!.Select(c => c.Id).ToList();
        Assert.Equal(2, ids.Count);
        Assert.All(ids, id => Assert.StartsWith("call_", id, StringComparison.Ordinal));
        Assert.Equal(2, ids.Distinct().Count());
        Assert.DoesNotContain("call_mock0001", ids);

        var streamed = await DrainAsync(Adapter().StreamAsync(Call(request), Ct));
        Assert.All(streamed.Single(c => c.ToolCalls is not null).ToolCalls!, c => Assert.False(string.IsNullOrEmpty(c.Id)));
    }

    [Fact]
    public async Task Assistant_tool_calls_are_sent_with_object_arguments_and_tool_results_name_their_tool()
    {
        var history = new ChatRequest(
        [
            RouterMessage.FromText("user", "weather?"),
            new RouterMessage("assistant", [], ToolCalls: [new ToolCall("call_abc", "get_weather", """{"city":"Paris"}""")]),
            new RouterMessage("tool", [ContentPart.FromText("""{"temp":21}""")], ToolCallId: "call_abc"),
        ])
        { Tools = [Weather] };
        var r = await Adapter().CompleteAsync(Call(history), Ct);
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal("Mock reply to: weather?", r.Message.Text);

        var messages = LastBody().GetProperty("messages");
        var call = messages[1].GetProperty("tool_calls")[0];
        Assert.Equal("call_abc", call.GetProperty("id").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        var arguments = call.GetProperty("function").GetProperty("arguments");
        Assert.Equal(JsonValueKind.Object, arguments.ValueKind); // Ollama takes objects, not JSON strings
        Assert.Equal("Paris", arguments.GetProperty("city").GetString());
        Assert.Equal(string.Empty, messages[1].GetProperty("content").GetString());
        Assert.Equal("tool", messages[2].GetProperty("role").GetString());
        Assert.Equal("""{"temp":21}""", messages[2].GetProperty("content").GetString());
        Assert.Equal("get_weather", messages[2].GetProperty("tool_name").GetString());
        Assert.Equal("call_abc", messages[2].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Tool_arguments_that_are_not_an_object_are_refused_before_sending()
    {
        var before = mock.Server.Requests.Count;
        var bad = new ChatRequest([RouterMessage.FromText("user", "x"), new RouterMessage("assistant", [], ToolCalls: [new ToolCall("call_1", "get_weather", "not json")])]);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => Adapter().CompleteAsync(Call(bad), Ct));
        Assert.Contains("not a JSON object", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.Equal(before, mock.Server.Requests.Count);
    }

    [Fact]
    public async Task Tool_choice_none_sends_no_tools_and_a_named_function_sends_only_that_one()
    {
        var request = new ChatRequest([RouterMessage.FromText("user", "weather?")]) { Tools = [Weather, new ToolDefinition("get_forecast", null, null)] };
        var none = await Adapter().CompleteAsync(Call(request with { ToolChoice = "none" }), Ct);
        Assert.False(LastBody().TryGetProperty("tools", out _));
        Assert.Equal("stop", none.FinishReason);

        var forced = await Adapter().CompleteAsync(Call(request with { ToolChoice = "get_forecast" }), Ct);
        Assert.Equal("get_forecast", LastBody().GetProperty("tools").EnumerateArray().Single().GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("get_forecast", Assert.Single(forced.Message.ToolCalls!).Name);
    }

    [Fact]
    public async Task Json_mode_sends_format_json_and_a_schema_is_sent_as_the_format_object()
    {
        var mode = await Adapter().CompleteAsync(Call(new ChatRequest([RouterMessage.FromText("user", "json please")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonObject) }), Ct);
        Assert.Equal("json", LastBody().GetProperty("format").GetString());
        Assert.Equal("json please", JsonDocument.Parse(mode.Message.Text).RootElement.GetProperty("answer").GetString());

        const string schema = """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""";
        var typed = await Adapter().CompleteAsync(Call(new ChatRequest([RouterMessage.FromText("user", "schema")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "s", schema, true) }), Ct);
        var format = LastBody().GetProperty("format");
        Assert.Equal(JsonValueKind.Object, format.ValueKind);
        Assert.Equal("string", format.GetProperty("properties").GetProperty("answer").GetProperty("type").GetString());
        Assert.Equal("schema", JsonDocument.Parse(typed.Message.Text).RootElement.GetProperty("answer").GetString());

        await Adapter().CompleteAsync(Call(new ChatRequest([RouterMessage.FromText("user", "text")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.Text) }), Ct);
        Assert.False(LastBody().TryGetProperty("format", out _));
    }

    [Fact]
    public async Task Images_are_sent_as_bare_base64_and_an_image_url_is_refused_before_sending()
    {
        var inline = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("see"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=", "low")])]);
        var r = await Adapter().CompleteAsync(Call(inline), Ct); // the mock, like Ollama, fails the request if an image is not base64
        Assert.Equal("Mock reply to: see", r.Message.Text);
        var message = LastBody().GetProperty("messages")[0];
        Assert.Equal("see", message.GetProperty("content").GetString());
        Assert.Equal(["iVBORw0KGgo="], message.GetProperty("images").EnumerateArray().Select(i => i.GetString()));

        var before = mock.Server.Requests.Count;
        var url = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("see"), ContentPart.FromImage("https://example.com/cat.png")])]);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => Adapter().CompleteAsync(Call(url), Ct));
        Assert.Contains("image URLs are not supported by Ollama", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => DrainAsync(Adapter().StreamAsync(Call(url), Ct)));
        Assert.Equal(before, mock.Server.Requests.Count);
    }

    [Fact]
    public async Task Embeddings_use_api_embed()
    {
        var e = await Adapter().EmbedAsync(new EmbeddingCall(["a", "bb"], Model, Provider(), 4), Ct);
        Assert.Equal(2, e.Vectors.Count);
        Assert.All(e.Vectors, v => Assert.Equal(4, v.Length));
        Assert.Equal(2f / 7f, e.Vectors[1][0]);
        Assert.Equal(2, e.PromptTokens);
        Assert.Equal("/api/embed", Last.Path);
        var body = LastBody();
        Assert.Equal(["a", "bb"], body.GetProperty("input").EnumerateArray().Select(i => i.GetString()));
        Assert.Equal(4, body.GetProperty("dimensions").GetInt32());

        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.NotFound, () => Adapter().EmbedAsync(new EmbeddingCall(["[mock:not_found]"], Model, Provider()), Ct));
        Assert.Equal(404, ex.StatusCode);
    }

    [Fact]
    public async Task Models_and_health_come_from_api_tags()
    {
        var models = await Adapter().ListModelsAsync(Ct);
        Assert.Contains("mock-small:latest", models);
        Assert.Equal("/api/tags", Last.Path);
        Assert.Equal("Bearer " + Key, Last.Headers["authorization"]);
        var health = await Adapter().CheckHealthAsync(Ct);
        Assert.True(health.Healthy);
        Assert.Equal($"{models.Count} models", health.Detail);
    }

    [Theory]
    [InlineData("rate_limit", ProviderErrorClass.RateLimited, 429, 2000.0)]
    [InlineData("server", ProviderErrorClass.Server, 500, null)]
    [InlineData("overloaded", ProviderErrorClass.Overloaded, 503, null)]
    [InlineData("not_found", ProviderErrorClass.NotFound, 404, null)]
    [InlineData("bad_request", ProviderErrorClass.BadRequest, 400, null)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, 400, null)]
    [InlineData("auth", ProviderErrorClass.Authentication, 401, null)]
    public async Task Each_error_class_is_typed_with_status_and_retry_after_in_both_modes(string scenario, ProviderErrorClass expected, int status, double? retryAfterMs)
    {
        var complete = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask($"fail [mock:{scenario}]")), Ct));
        var stream = await Assert.ThrowsAnyAsync<ProviderException>(() => DrainAsync(Adapter().StreamAsync(Call(Ask($"fail [mock:{scenario}]")), Ct)));
        foreach (var ex in new[] { complete, stream })
        {
            Assert.Equal(expected, ex.ErrorClass);
            Assert.Equal(status, ex.StatusCode);
            Assert.Equal(("ol", "mock-small"), (ex.Provider, ex.Model));
            Assert.Equal(retryAfterMs, ex.RetryAfter?.TotalMilliseconds);
            Assert.Equal(status is 429 or 500 or 503, ex.IsTransient);
            Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
        }

        if (scenario == "not_found")
        {
            Assert.Equal("model 'mock-small' not found", complete.ProviderMessage);
        }

        if (scenario == "auth")
        {
            Assert.Contains("[redacted]", complete.ProviderMessage, StringComparison.Ordinal); // the proxy echoed the token
        }
    }

    [Fact]
    public async Task An_error_line_mid_stream_is_a_transient_server_error_after_the_chunks()
    {
        var seen = new List<ProviderStreamChunk>();
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, () => DrainAsync(Adapter().StreamAsync(Call(Ask("a long enough reply to break [mock:midstream]")), Ct), seen));
        Assert.Equal(2, seen.Count);
        Assert.All(seen, c => Assert.NotNull(c.TextDelta));
        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("unexpected EOF", ex.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_without_its_done_line_is_an_upstream_invalid_response()
    {
        var seen = new List<ProviderStreamChunk>();
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => DrainAsync(Adapter().StreamAsync(Call(Ask("a long enough reply to cut [mock:truncated]")), Ct), seen));
        Assert.Equal(ProviderErrorClass.UpstreamInvalidResponse, ex.ErrorClass);
        Assert.Equal(2, seen.Count);
        Assert.Equal("the stream ended without its terminal event", ex.ProviderMessage);
    }

    [Fact]
    public async Task A_slow_upstream_is_a_timeout_and_so_is_a_stream_that_stalls_past_its_idle_timeout()
    {
        // The guard only turns a regression into a quick failure (a cancellation instead of the expected timeout).
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(30));
        var quick = TimeSpan.FromMilliseconds(300);
        var complete = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => Adapter(quick).CompleteAsync(Call(Ask("[mock:slow]")), guard.Token));
        Assert.True(complete.IsTransient);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => DrainAsync(Adapter(quick).StreamAsync(Call(Ask("[mock:slow]")), guard.Token)));

        // Two lines arrive and are handed on while the upstream is still open; then it goes silent.
        var seen = new List<ProviderStreamChunk>();
        var idle = new OllamaChatProvider(Provider() with { StreamIdleTimeout = quick }, new HttpClient(), Key); // timeout_seconds no longer bounds a stream's silence
        var stalled = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => DrainAsync(idle.StreamAsync(Call(Ask("a long enough reply to stall [mock:stall]")), guard.Token), seen));
        Assert.Equal(2, seen.Count);
        Assert.Contains("stream sent nothing", stalled.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_caller_gets_a_cancellation_and_the_upstream_request_is_aborted()
    {
        var before = mock.Server.AbortedRequests;
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Adapter().CompleteAsync(Call(Ask("[mock:slow]")), cts.Token));
            Assert.IsNotAssignableFrom<ProviderException>(ex);
        }

        await WaitForAbortsAsync(before + 1);

        before = mock.Server.AbortedRequests;
        using var mid = new CancellationTokenSource();
        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("a long enough reply to stall [mock:stall]")), mid.Token))
            {
                if (++seen == 2)
                {
                    await mid.CancelAsync();
                }
            }
        });
        Assert.Equal(2, seen);
        await WaitForAbortsAsync(before + 1);
    }

    [Fact]
    public async Task A_refused_connection_is_a_connection_error()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there any more

        var closed = Provider(baseUrl: $"http://127.0.0.1:{port}");
        var adapter = new OllamaChatProvider(closed, new HttpClient(), Key);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Connection, () => adapter.CompleteAsync(new ProviderCall(Ask("x"), Model, closed), Ct));
        Assert.True(ex.IsTransient);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Connection, () => DrainAsync(adapter.StreamAsync(new ProviderCall(Ask("x"), Model, closed), Ct)));
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Connection, () => adapter.CheckHealthAsync(Ct));
    }

    private async Task WaitForAbortsAsync(int expected)
    {
        for (var i = 0; i < 100 && mock.Server.AbortedRequests < expected; i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(mock.Server.AbortedRequests >= expected, "the mock saw the request aborted");
    }

    private sealed class Clients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }
}
