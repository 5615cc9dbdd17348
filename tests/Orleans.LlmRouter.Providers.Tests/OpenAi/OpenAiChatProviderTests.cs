using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.OpenAi;

public sealed class MockUpstreamFixture : IAsyncLifetime
{
    public MockUpstreamServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await MockUpstreamServer.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The OpenAI-compatible adapter against the wire-faithful mock, over real HTTP on loopback.</summary>
public sealed class OpenAiChatProviderTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "sk-test-SECRET-never-logged-123";

    private ProviderDefinition Provider(TimeSpan? timeout = null, string? maxTokensField = null) =>
        new("oa", ProviderTypes.OpenAi, mock.Server.BaseAddress.ToString(), "TEST_KEY", timeout ?? TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, maxTokensField is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["max_tokens_field"] = maxTokensField }, SourceLocation.None);

    private static readonly ModelDefinition Model = new("gpt-mock", "oa", "mock-small", new HashSet<Capability> { Capability.Chat }, 128_000, 4096, new ModelPricing(1, 2), null, SourceLocation.None);

    private OpenAiChatProvider Adapter(TimeSpan? timeout = null, string? maxTokensField = null) => new(Provider(timeout, maxTokensField), new HttpClient(), Key);

    private ProviderCall Call(ChatRequest request, TimeSpan? timeout = null) => new(request, Model, Provider(timeout));

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100, Temperature = 0.2, Stop = ["END"] };

    private JsonElement LastBody() => JsonDocument.Parse(mock.Server.Requests[^1].Body).RootElement;

    [Fact]
    public async Task Text_completion_maps_message_usage_and_finish_and_sends_the_openai_request_shape()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello adapter")), TestContext.Current.CancellationToken);
        Assert.Equal("Mock reply to: hello adapter", r.Message.Text);
        Assert.Equal("stop", r.FinishReason);
        Assert.True(r.Usage.PromptTokens > 0 && r.Usage.CompletionTokens > 0);

        var sent = LastBody();
        Assert.Equal("mock-small", sent.GetProperty("model").GetString());
        Assert.Equal("system", sent.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal(100, sent.GetProperty("max_tokens").GetInt32()); // not api.openai.com: the compatible field
        Assert.Equal("END", sent.GetProperty("stop")[0].GetString());
        Assert.Equal(0.2, sent.GetProperty("temperature").GetDouble());
        Assert.Equal("Bearer " + Key, mock.Server.Requests[^1].Headers["authorization"]);

        await Adapter(maxTokensField: "max_completion_tokens").CompleteAsync(Call(Ask("new field")), TestContext.Current.CancellationToken);
        Assert.Equal(100, LastBody().GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_forwards_chunks_and_reads_the_usage_chunk()
    {
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(Ask("stream it please")), TestContext.Current.CancellationToken))
        {
            chunks.Add(c);
        }

        Assert.Equal("Mock reply to: stream it please", string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.True(chunks.Count > 3);
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.True(chunks[^1].Usage!.CompletionTokens > 0);
        Assert.True(LastBody().GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task Tool_calls_json_schema_images_and_cache_usage_are_mapped()
    {
        var tools = new ChatRequest([RouterMessage.FromText("user", "weather?")]) { Tools = [new ToolDefinition("get_weather", "w", """{"type":"object"}""")], ToolChoice = "get_weather" };
        var r = await Adapter().CompleteAsync(Call(tools), TestContext.Current.CancellationToken);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Equal(("get_weather", """{"city":"Paris"}"""), (r.Message.ToolCalls![0].Name, r.Message.ToolCalls[0].ArgumentsJson));
        Assert.Equal("get_weather", LastBody().GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());

        var streamed = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(tools), TestContext.Current.CancellationToken))
        {
            streamed.Add(c);
        }

        Assert.Equal("get_weather", streamed.Single(c => c.ToolCalls is not null).ToolCalls![0].Name);
        Assert.Equal("tool_calls", streamed[^1].FinishReason);

        var schema = new ChatRequest([RouterMessage.FromText("user", "json")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "s", """{"type":"object"}""", true) };
        var j = await Adapter().CompleteAsync(Call(schema), TestContext.Current.CancellationToken);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(j.Message.Text).RootElement.ValueKind);
        Assert.True(LastBody().GetProperty("response_format").GetProperty("json_schema").GetProperty("strict").GetBoolean());

        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("see"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=", "low")])]);
        await Adapter().CompleteAsync(Call(image), TestContext.Current.CancellationToken);
        Assert.Equal("low", LastBody().GetProperty("messages")[0].GetProperty("content")[1].GetProperty("image_url").GetProperty("detail").GetString());

        var deepseek = await Adapter().CompleteAsync(Call(Ask("cache [mock:deepseek_cache]")), TestContext.Current.CancellationToken);
        Assert.Equal(deepseek.Usage.PromptTokens / 2, deepseek.Usage.CachedTokens);
    }

    [Theory]
    [InlineData("rate_limit", ProviderErrorClass.RateLimited, 429, 2000.0)]
    [InlineData("rate_limit_ms", ProviderErrorClass.RateLimited, 429, 1500.0)]
    [InlineData("server", ProviderErrorClass.Server, 500, null)]
    [InlineData("overloaded", ProviderErrorClass.Overloaded, 503, null)]
    [InlineData("auth", ProviderErrorClass.Authentication, 401, null)]
    [InlineData("permission", ProviderErrorClass.Permission, 403, null)]
    [InlineData("not_found", ProviderErrorClass.NotFound, 404, null)]
    [InlineData("bad_request", ProviderErrorClass.BadRequest, 400, null)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, 400, null)]
    [InlineData("content_policy", ProviderErrorClass.ContentPolicy, 400, null)]
    public async Task Each_error_class_is_typed_with_status_and_retry_after(string scenario, ProviderErrorClass expected, int status, double? retryAfterMs)
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask($"fail [mock:{scenario}]")), TestContext.Current.CancellationToken));
        Assert.Equal(expected, ex.ErrorClass);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal("oa", ex.Provider);
        Assert.Equal("mock-small", ex.Model);
        Assert.Equal(retryAfterMs, ex.RetryAfter?.TotalMilliseconds);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_date_retry_after_and_x_should_retry_are_honoured()
    {
        var dated = await ProviderAssert.ThrowsAsync(ProviderErrorClass.RateLimited, () => Adapter().CompleteAsync(Call(Ask("[mock:rate_limit_date]")), TestContext.Current.CancellationToken));
        Assert.InRange(dated.RetryAfter!.Value.TotalSeconds, 0, 4);
        var noRetry = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, () => Adapter().CompleteAsync(Call(Ask("[mock:no_retry]")), TestContext.Current.CancellationToken));
        Assert.False(noRetry.IsTransient);
    }

    [Fact]
    public async Task A_mid_stream_error_surfaces_as_a_typed_error_after_the_chunks()
    {
        var seen = 0;
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("a long enough reply to break [mock:midstream]")), TestContext.Current.CancellationToken))
            {
                seen++;
            }
        });
        Assert.Equal(2, seen);
        Assert.Contains("server had an error", ex.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_upstream_is_a_timeout_and_a_cancelled_caller_aborts_the_upstream_request()
    {
        var timeout = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Timeout, () => Adapter(TimeSpan.FromMilliseconds(200)).CompleteAsync(Call(Ask("[mock:slow]"), TimeSpan.FromMilliseconds(200)), TestContext.Current.CancellationToken));
        Assert.True(timeout.IsTransient);

        var abortedBefore = mock.Server.AbortedRequests;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Adapter().CompleteAsync(Call(Ask("[mock:slow]")), cts.Token));
        for (var i = 0; i < 100 && mock.Server.AbortedRequests == abortedBefore; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(mock.Server.AbortedRequests > abortedBefore, "the mock saw the request aborted");
    }

    [Fact]
    public async Task A_refused_connection_is_a_connection_error()
    {
        var closed = new ProviderDefinition("oa", ProviderTypes.OpenAi, "http://127.0.0.1:9", "TEST_KEY", TimeSpan.FromSeconds(5), 1, true, ProviderLimits.Unlimited, BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);
        var adapter = new OpenAiChatProvider(closed, new HttpClient(), Key);
        var ex = await ProviderAssert.ThrowsAsync(ProviderErrorClass.Connection, () => adapter.CompleteAsync(new ProviderCall(Ask("x"), Model, closed), TestContext.Current.CancellationToken));
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embeddings_models_and_health()
    {
        var e = await Adapter().EmbedAsync(new EmbeddingCall(["a", "bb"], Model, Provider(), 4), TestContext.Current.CancellationToken);
        Assert.Equal(2, e.Vectors.Count);
        Assert.Equal(4, e.Vectors[0].Length);
        Assert.True(e.PromptTokens > 0);
        Assert.Contains("mock-small", await Adapter().ListModelsAsync(TestContext.Current.CancellationToken));
        Assert.True((await Adapter().CheckHealthAsync(TestContext.Current.CancellationToken)).Healthy);
    }

    [Fact]
    public async Task A_pdf_document_is_a_file_part_and_one_given_by_url_is_refused_before_any_request()
    {
        var tag = Guid.NewGuid().ToString("N");
        var pdf = Anthropic.AnthropicChatProviderTests.Pdf;
        var request = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("read " + tag), ContentPart.FromDocument("application/pdf", pdf, "report")])]);
        await Adapter().CompleteAsync(Call(request), TestContext.Current.CancellationToken);
        using var sent = JsonDocument.Parse(mock.Server.Requests.Last(x => x.Body.Contains(tag, StringComparison.Ordinal)).Body);
        var file = sent.RootElement.GetProperty("messages")[0].GetProperty("content")[1];
        ProviderAssert.SameJson($$$"""{"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,{{{pdf}}}"}}""", file);

        var before = mock.Server.Requests.Count;
        var byUrl = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("read"), ContentPart.FromDocumentUrl("https://example.com/a.pdf")])]);
        var refused = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(byUrl), TestContext.Current.CancellationToken));
        Assert.Equal(ProviderErrorClass.BadRequest, refused.ErrorClass);
        Assert.Equal(before, mock.Server.Requests.Count);
    }
}
