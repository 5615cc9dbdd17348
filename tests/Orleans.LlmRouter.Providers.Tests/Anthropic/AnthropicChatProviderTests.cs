using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Anthropic;

/// <summary>The Anthropic Messages adapter against the wire-faithful mock, over real HTTP on loopback.</summary>
public sealed class AnthropicChatProviderTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "sk-ant-test-SECRET-never-logged-456";

    private static readonly ModelDefinition Model = new("claude-mock", "an", "claude-mock-small", new HashSet<Capability> { Capability.Chat }, 200_000, 8192, new ModelPricing(1, 5), null, SourceLocation.None);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(TimeSpan? timeout = null, string? baseUrl = null) =>
        new("an", ProviderTypes.Anthropic, baseUrl ?? mock.Server.BaseAddress.ToString(), "TEST_KEY", timeout ?? TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);

    private AnthropicChatProvider Adapter(TimeSpan? timeout = null, string? baseUrl = null) => new(Provider(timeout, baseUrl), new HttpClient(), Key);

    private ProviderCall Call(ChatRequest request) => new(request, Model, Provider());

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { Temperature = 0.2, Stop = ["END"] };

    private JsonElement LastBody() => JsonDocument.Parse(mock.Server.Requests[^1].Body).RootElement;

    [Fact]
    public async Task Text_completion_sends_the_messages_shape_and_maps_the_answer()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello claude")), Cancel);
        Assert.Equal("Mock reply to: hello claude", r.Message.Text);
        Assert.Equal("stop", r.FinishReason);
        Assert.True(r.Usage.PromptTokens > 0 && r.Usage.CompletionTokens > 0);

        var sent = LastBody();
        Assert.Equal("claude-mock-small", sent.GetProperty("model").GetString());
        Assert.Equal("be brief", sent.GetProperty("system").GetString()); // top-level, not a message
        Assert.Equal(8192, sent.GetProperty("max_tokens").GetInt32()); // defaulted to the model's maximum
        Assert.Equal(["user"], sent.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("END", sent.GetProperty("stop_sequences")[0].GetString());
        Assert.Equal(0.2, sent.GetProperty("temperature").GetDouble());
        var headers = mock.Server.Requests[^1].Headers;
        Assert.Equal(Key, headers["x-api-key"]);
        Assert.Equal("2023-06-01", headers["anthropic-version"]);
        Assert.False(headers.ContainsKey("authorization"));

        await Adapter().CompleteAsync(Call(Ask("capped") with { MaxOutputTokens = 77 }), Cancel);
        Assert.Equal(77, LastBody().GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Usage_counts_cache_reads_and_writes_in_the_prompt_and_finish_reasons_are_mapped()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("cached [mock:cache]")), Cancel);
        Assert.Equal(100, r.Usage.CachedTokens);
        Assert.True(r.Usage.PromptTokens >= 120, "prompt = input + cache creation (20) + cache read (100)");

        Assert.Equal("length", (await Adapter().CompleteAsync(Call(Ask("long [mock:length]")), Cancel)).FinishReason);
        var refused = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("no [mock:refusal]")), Cancel));
        Assert.Equal(ProviderErrorClass.ContentPolicy, refused.ErrorClass);
        Assert.Equal("content_filter", AnthropicWire.FinishReason("refusal", false));
        Assert.Equal("tool_calls", AnthropicWire.FinishReason("tool_use", true));
        Assert.Equal("stop", AnthropicWire.FinishReason("stop_sequence", false));
    }

    [Fact]
    public async Task Streaming_reads_the_event_sequence_with_cumulative_usage()
    {
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(Ask("stream me please [mock:cache]")), Cancel))
        {
            chunks.Add(c);
        }

        Assert.Equal("Mock reply to: stream me please [mock:cache]", string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.True(chunks.Count(c => c.TextDelta is not null) > 1);
        var last = chunks[^1];
        Assert.Equal("stop", last.FinishReason);
        Assert.Equal(100, last.Usage!.CachedTokens);
        Assert.True(last.Usage.CompletionTokens > 1, "the output count comes from message_delta, not message_start's placeholder");
        Assert.True(LastBody().GetProperty("stream").GetBoolean());
    }

    [Fact]
    public async Task Tool_calls_round_trip_in_both_directions()
    {
        var tool = new ToolDefinition("get_weather", "Weather for a city", """{"type":"object","properties":{"city":{"type":"string"}}}""");
        var ask = new ChatRequest([RouterMessage.FromText("user", "weather in Lyon?")]) { Tools = [tool], ToolChoice = "required" };
        var first = await Adapter().CompleteAsync(Call(ask), Cancel);
        Assert.Equal("tool_calls", first.FinishReason);
        var call = Assert.Single(first.Message.ToolCalls!);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"Lyon"}""", call.ArgumentsJson);
        var sent = LastBody();
        Assert.Equal("object", sent.GetProperty("tools")[0].GetProperty("input_schema").GetProperty("type").GetString());
        Assert.Equal("any", sent.GetProperty("tool_choice").GetProperty("type").GetString());

        // The tool's answer goes back as a tool_result block in a user turn, after the assistant's tool_use block.
        var follow = ask with
        {
            ToolChoice = null,
            Messages = [.. ask.Messages, first.Message, new RouterMessage("tool", [ContentPart.FromText("sunny, 21 C")], ToolCallId: call.Id)],
        };
        var second = await Adapter().CompleteAsync(Call(follow), Cancel);
        Assert.Equal("Tool said: sunny, 21 C", second.Message.Text);
        var turns = LastBody().GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "user"], turns.Select(t => t.GetProperty("role").GetString()));
        Assert.Contains(turns[1].GetProperty("content").EnumerateArray(), b => b.GetProperty("type").GetString() == "tool_use" && b.GetProperty("input").GetProperty("city").GetString() == "Lyon");
        var result = turns[2].GetProperty("content")[0];
        Assert.Equal(("tool_result", call.Id), (result.GetProperty("type").GetString(), result.GetProperty("tool_use_id").GetString()));

        // Streaming: input_json_delta pieces are assembled into one normalised argument object.
        ToolCall? streamed = null;
        await foreach (var c in Adapter().StreamAsync(Call(ask), Cancel))
        {
            streamed ??= c.ToolCalls?.Single();
            if (c.FinishReason is { } f)
            {
                Assert.Equal("tool_calls", f);
            }
        }

        Assert.Equal("""{"city": "Lyon"}""", streamed!.ArgumentsJson);
    }

    [Fact]
    public async Task Json_schema_goes_in_output_config_and_images_as_url_or_base64_sources()
    {
        var schema = """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""";
        var r = await Adapter().CompleteAsync(Call(Ask("json") with { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "a", schema) }), Cancel);
        Assert.Equal("json", JsonDocument.Parse(r.Message.Text).RootElement.GetProperty("answer").GetString());
        var format = LastBody().GetProperty("output_config").GetProperty("format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("answer", format.GetProperty("schema").GetProperty("required")[0].GetString());

        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("what is this"), ContentPart.FromImage("https://example.com/cat.png"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=")])]);
        await Adapter().CompleteAsync(Call(image), Cancel);
        var blocks = LastBody().GetProperty("messages")[0].GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(("url", "https://example.com/cat.png"), (blocks[1].GetProperty("source").GetProperty("type").GetString(), blocks[1].GetProperty("source").GetProperty("url").GetString()));
        var b64 = blocks[2].GetProperty("source");
        Assert.Equal(("base64", "image/png", "iVBORw0KGgo="), (b64.GetProperty("type").GetString(), b64.GetProperty("media_type").GetString(), b64.GetProperty("data").GetString()));
    }

    /// <summary>A two-page PDF (page objects and a page tree), base64.</summary>
    internal static readonly string Pdf = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n" +
        "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n4 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n" +
        "trailer << /Root 1 0 R >>\n%%EOF\n"));

    [Fact]
    public async Task Pdf_documents_are_document_blocks_with_their_source_title_and_cache_control()
    {
        var tag = Guid.NewGuid().ToString("N");
        var request = new ChatRequest([new RouterMessage("user",
        [
            ContentPart.FromDocument("application/pdf", Pdf, "Annual report") with { CacheControlJson = """{"type":"ephemeral","ttl":"1h"}""" },
            ContentPart.FromDocumentUrl("https://example.com/spec.pdf"),
            ContentPart.FromText("summarise both " + tag),
        ])]);
        var r = await Adapter().CompleteAsync(Call(request), Cancel);
        Assert.Equal("Mock reply to: summarise both " + tag, r.Message.Text);

        using var sent = JsonDocument.Parse(mock.Server.Requests.Last(x => x.Body.Contains(tag, StringComparison.Ordinal)).Body);
        var blocks = sent.RootElement.GetProperty("messages")[0].GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(3, blocks.Count);
        ProviderAssert.SameJson(
            $$$"""{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"{{{Pdf}}}"},"title":"Annual report","cache_control":{"type":"ephemeral","ttl":"1h"}}""",
            blocks[0]);
        ProviderAssert.SameJson("""{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"}}""", blocks[1]);
        Assert.Equal("text", blocks[2].GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_malformed_document_is_refused_by_the_api_as_a_bad_request()
    {
        // The mock checks documents as the real API does: base64 that is not a PDF is a 400 naming the field.
        var png = ContentPart.FromDocument("application/pdf", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");
        var notPdf = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(new ChatRequest([new RouterMessage("user", [png, ContentPart.FromText("read it")])])), Cancel));
        Assert.Equal((ProviderErrorClass.BadRequest, 400), (notPdf.ErrorClass, notPdf.StatusCode));
        Assert.Contains("messages.0.content.0.document.source.base64.data", notPdf.Message, StringComparison.Ordinal);

        var wrongType = ContentPart.FromDocument("application/msword", Pdf);
        var media = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(new ChatRequest([new RouterMessage("user", [wrongType, ContentPart.FromText("read it")])])), Cancel));
        Assert.Equal(ProviderErrorClass.BadRequest, media.ErrorClass);
        Assert.Contains("media_type: Input should be 'application/pdf'", media.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embeddings_and_a_temperature_over_one_are_clear_errors_before_any_request()
    {
        var before = mock.Server.Requests.Count;
        var embed = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().EmbedAsync(new EmbeddingCall(["x"], Model, Provider()), Cancel));
        Assert.Equal(ProviderErrorClass.BadRequest, embed.ErrorClass);
        Assert.Contains("no embeddings", embed.Message, StringComparison.Ordinal);
        var hot = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("x") with { Temperature = 1.5 }), Cancel));
        Assert.Equal(ProviderErrorClass.BadRequest, hot.ErrorClass);
        Assert.Equal(before, mock.Server.Requests.Count);
        Assert.Equal(["claude-mock-small", "claude-mock-large"], await Adapter().ListModelsAsync(Cancel));
    }

    [Theory]
    [InlineData("auth", ProviderErrorClass.Authentication, 401, null)]
    [InlineData("permission", ProviderErrorClass.Permission, 403, null)]
    [InlineData("not_found", ProviderErrorClass.NotFound, 404, null)]
    [InlineData("bad_request", ProviderErrorClass.BadRequest, 400, null)]
    [InlineData("too_large", ProviderErrorClass.BadRequest, 413, null)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, 400, null)]
    [InlineData("rate_limit", ProviderErrorClass.RateLimited, 429, 2000.0)]
    [InlineData("rate_limit_ms", ProviderErrorClass.RateLimited, 429, 1500.0)]
    [InlineData("server", ProviderErrorClass.Server, 500, null)]
    [InlineData("overloaded", ProviderErrorClass.Overloaded, 529, null)]
    public async Task Errors_are_classified_with_status_transience_and_retry_after(string scenario, ProviderErrorClass expected, int status, double? retryAfterMs)
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask($"x [mock:{scenario}]")), Cancel));
        Assert.Equal(expected, ex.ErrorClass);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(("an", "claude-mock-small"), (ex.Provider, ex.Model));
        Assert.Equal(expected is ProviderErrorClass.RateLimited or ProviderErrorClass.Server or ProviderErrorClass.Overloaded, ex.IsTransient);
        if (retryAfterMs is { } ms)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(ms), ex.RetryAfter);
        }

        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal); // the auth error echoes the key: scrubbed
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_parsed()
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("x [mock:rate_limit_date]")), Cancel));
        Assert.InRange(ex.RetryAfter!.Value.TotalSeconds, 0.5, 4);
    }

    [Fact]
    public async Task An_error_event_after_a_200_is_a_typed_error()
    {
        var seen = 0;
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("a long enough reply to break [mock:midstream]")), Cancel))
            {
                seen++;
            }
        });
        Assert.Equal(2, seen);
        Assert.Equal(ProviderErrorClass.Overloaded, ex.ErrorClass);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task A_slow_upstream_is_a_timeout_a_cancelled_caller_aborts_and_a_closed_port_is_a_connection_error()
    {
        var timeout = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(TimeSpan.FromMilliseconds(200)).CompleteAsync(Call(Ask("[mock:slow]")), Cancel));
        Assert.Equal(ProviderErrorClass.Timeout, timeout.ErrorClass);

        var abortedBefore = mock.Server.AbortedRequests;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Adapter().CompleteAsync(Call(Ask("[mock:slow]")), cts.Token));
        for (var i = 0; i < 100 && mock.Server.AbortedRequests == abortedBefore; i++)
        {
            await Task.Delay(20, Cancel);
        }

        Assert.True(mock.Server.AbortedRequests > abortedBefore, "the upstream request was aborted");

        var closed = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(baseUrl: $"http://127.0.0.1:{ClosedPort()}").CompleteAsync(Call(Ask("x")), Cancel));
        Assert.Equal(ProviderErrorClass.Connection, closed.ErrorClass);
        Assert.DoesNotContain(Key, closed.ToString(), StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}
