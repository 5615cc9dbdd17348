using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>
/// The gateway in front of the wire-faithful mock upstream: the official OpenAI SDK on one side, the real
/// OpenAI-compatible adapter over loopback HTTP on the other (run in both hosting shapes).
/// </summary>
public abstract class MockUpstreamGatewayTests
{
    protected abstract Uri BaseAddress { get; }

    protected abstract MockUpstreamServer Mock { get; }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private OpenAIClient Sdk() =>
        new(new ApiKeyCredential(GatewayFixture.DevKey), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private HttpClient Http()
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
        return client;
    }

    private int MockCallsWith(string marker) => Mock.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal));

    [Fact]
    public async Task The_sdk_completes_through_the_gateway_and_the_upstream_adapter()
    {
        var tag = Guid.NewGuid().ToString("N");
        ChatCompletion completion = await Sdk().GetChatClient("mock-gpt").CompleteChatAsync([new SystemChatMessage("be brief"), new UserChatMessage("hello upstream " + tag)], new ChatCompletionOptions { MaxOutputTokenCount = 64, Temperature = 0.3f }, Cancel);
        Assert.Equal("Mock reply to: hello upstream " + tag, completion.Content[0].Text);
        Assert.Equal("mock-gpt", completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);

        // What reached the upstream: the provider's model id, the caller's parameters, the provider's key (not the tenant's).
        var sent = Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal));
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal("mock-small", body.RootElement.GetProperty("model").GetString());
        Assert.Equal(64, body.RootElement.GetProperty("max_tokens").GetInt32());
        Assert.Equal("system", body.RootElement.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("Bearer " + MockBackedConfig.Key, sent.Headers["authorization"]);
    }

    [Fact]
    public async Task The_sdk_reaches_an_anthropic_model_through_the_messages_adapter()
    {
        var tag = Guid.NewGuid().ToString("N");
        ChatCompletion completion = await Sdk().GetChatClient("mock-claude").CompleteChatAsync([new SystemChatMessage("be brief"), new UserChatMessage("hello claude " + tag)], cancellationToken: Cancel);
        Assert.Equal("Mock reply to: hello claude " + tag, completion.Content[0].Text);
        Assert.Equal("mock-claude", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);

        var sent = Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal));
        Assert.Equal("/v1/messages", sent.Path);
        Assert.Equal(MockBackedConfig.Key, sent.Headers["x-api-key"]);
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal("be brief", body.RootElement.GetProperty("system").GetString());
    }

    [Fact]
    public async Task The_sdk_reaches_a_gemini_model_through_the_generate_content_adapter()
    {
        var tag = Guid.NewGuid().ToString("N");
        ChatCompletion completion = await Sdk().GetChatClient("mock-gemini").CompleteChatAsync([new SystemChatMessage("be brief"), new UserChatMessage("hello gemini " + tag)], cancellationToken: Cancel);
        Assert.Contains("hello gemini " + tag, completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal("mock-gemini", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);

        var sent = Mock.Requests.Last(r => r.Body.Contains(tag, StringComparison.Ordinal));
        Assert.Contains("gemini-mock-flash:generateContent", sent.Path, StringComparison.Ordinal);
        Assert.Equal(MockBackedConfig.Key, sent.Headers["x-goog-api-key"]);
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal("be brief", body.RootElement.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("mock-gpt")]
    [InlineData("mock-claude")]
    [InlineData("mock-gemini")]
    [InlineData("mock-llama")]
    public async Task The_sdk_streams_upstream_chunks_with_usage(string model)
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        var chunks = 0;
        await foreach (var update in Sdk().GetChatClient(model).CompleteChatStreamingAsync([new UserChatMessage("stream from upstream")], new ChatCompletionOptions(), Cancel))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                chunks++;
            }

            usage ??= update.Usage;
        }

        Assert.Equal("Mock reply to: stream from upstream", text.ToString());
        Assert.True(chunks > 1, "chunks are forwarded as they come, not as one block");
        Assert.NotNull(usage);
        Assert.True(usage!.InputTokenCount > 0 && usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task A_stream_of_hundreds_of_chunks_arrives_whole_and_in_order()
    {
        // About 190 upstream chunks: several of the router's push batches and more than the separate front end holds
        // for its reader at once, so a lost, repeated or reordered batch would show in the text.
        var words = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"w{i:000}"));
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        var chunks = 0;
        await foreach (var update in Sdk().GetChatClient("mock-gpt").CompleteChatStreamingAsync([new UserChatMessage(words)], new ChatCompletionOptions { MaxOutputTokenCount = 2000 }, Cancel))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                chunks++;
            }

            usage ??= update.Usage;
        }

        Assert.Equal("Mock reply to: " + words, text.ToString());
        Assert.True(chunks > 150, $"{chunks} chunks");
        Assert.NotNull(usage);
    }

    [Fact]
    public async Task Tool_calls_and_embeddings_cross_the_adapter()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { tool } };
        ChatCompletion first = await Sdk().GetChatClient("mock-gpt").CompleteChatAsync([new UserChatMessage("weather in Lyon?")], options, Cancel);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(call.FunctionArguments).RootElement.ValueKind);

        var embedding = await Sdk().GetEmbeddingClient("mock-embed").GenerateEmbeddingAsync("embed upstream", cancellationToken: Cancel);
        Assert.True(embedding.Value.ToFloats().Length > 0);
    }

    [Fact]
    public async Task Transient_upstream_errors_are_retried_then_fall_back_to_the_next_model()
    {
        foreach (var scenario in new[] { "server", "overloaded" })
        {
            var marker = $"[mock:{scenario}] {Guid.NewGuid():N}";
            using var http = Http();
            using var response = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "action:mock_chain", messages = new[] { new { role = "user", content = marker } } }), Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sim-small", response.Headers.GetValues("X-LlmRouter-Model").Single());
            Assert.Equal(2, MockCallsWith(marker)); // max_attempts: 2 on the mock provider
        }
    }

    [Fact]
    public async Task An_upstream_429_pauses_its_provider_until_retry_after_and_traffic_falls_back()
    {
        var marker = $"[mock:rate_limit] {Guid.NewGuid():N}";
        using var http = Http();
        using var first = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "action:mock_pause_chain", messages = new[] { new { role = "user", content = marker } } }), Cancel);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("sim-small", first.Headers.GetValues("X-LlmRouter-Model").Single());
        Assert.Equal(1, MockCallsWith(marker)); // the retry is not sent: the provider is paused by its Retry-After (2 s)

        // Within the pause, the provider is skipped without an upstream call.
        var next = $"paused {Guid.NewGuid():N}";
        using var second = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "action:mock_pause_chain", messages = new[] { new { role = "user", content = next } } }), Cancel);
        Assert.Equal("sim-small", second.Headers.GetValues("X-LlmRouter-Model").Single());
        Assert.Equal(0, MockCallsWith(next));
    }

    [Fact]
    public async Task A_permanent_upstream_error_is_not_retried_and_its_key_echo_is_scrubbed()
    {
        var marker = $"[mock:auth] {Guid.NewGuid():N}";
        using var http = Http();
        using var fallback = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "action:mock_chain", messages = new[] { new { role = "user", content = marker } } }), Cancel);
        Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
        Assert.Equal(1, MockCallsWith(marker));

        // Alone (no fallback), the upstream's 401 reaches the caller as a gateway error that names the class, not the key.
        var only = $"[mock:auth] {Guid.NewGuid():N}";
        using var failed = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "mock-gpt", messages = new[] { new { role = "user", content = only } } }), Cancel);
        var text = await failed.Content.ReadAsStringAsync(Cancel);
        Assert.False(failed.IsSuccessStatusCode);
        Assert.NotEqual(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Contains("authentication", text, StringComparison.Ordinal);
        Assert.DoesNotContain(MockBackedConfig.Key, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mid_stream_upstream_error_ends_the_stream_with_an_error_event()
    {
        using var http = Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/chat/completions", UriKind.Relative))
        {
            Content = Json(new { model = "mock-gpt", stream = true, messages = new[] { new { role = "user", content = "[mock:midstream] go" } } }),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain(MockBackedConfig.Key, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_the_upstream_call()
    {
        var before = Mock.AbortedRequests;
        using (var http = Http())
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
            cts.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), Json(new { model = "mock-gpt", messages = new[] { new { role = "user", content = "[mock:slow] hang" } } }), cts.Token));
        }

        await WaitUntilAsync(() => Mock.AbortedRequests > before, "the upstream request was aborted when the caller went away");
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 250 && !condition(); i++)
        {
            await Task.Delay(20, Cancel);
        }

        Assert.True(condition(), what);
    }

    [Fact]
    public async Task A_stream_abandoned_mid_way_aborts_the_upstream_and_its_partial_usage_is_billed()
    {
        using var admin = new HttpClient { BaseAddress = BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", "sk-llmrouter-admin-dev");
        var tokensBefore = await LifetimeTokensAsync(admin);
        var abortedBefore = Mock.AbortedRequests;
        Mock.Timing = new MockTiming(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromMilliseconds(150));
        try
        {
            // A client that closes its connection when it drops a response (rather than draining it, .NET's default).
            using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress };
            http.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/chat/completions", UriKind.Relative))
            {
                Content = new StringContent("""{"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"a long answer that will be abandoned after its first words"}]}""", Encoding.UTF8, "application/json"),
            };
            using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken))
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
                string? line;
                while ((line = await reader.ReadLineAsync(TestContext.Current.CancellationToken)) is not null && !line.Contains("\"content\":\"M", StringComparison.Ordinal))
                {
                }
            } // the caller walks away after the first content chunk

            await WaitUntilAsync(() => Mock.AbortedRequests > abortedBefore, "the upstream stream was aborted");
        }
        finally
        {
            Mock.Timing = MockTiming.Instant;
        }

        for (var i = 0; i < 250 && await LifetimeTokensAsync(admin) <= tokensBefore; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(await LifetimeTokensAsync(admin) > tokensBefore, "what was generated before the disconnect is billed");
    }

    private static async Task<long> LifetimeTokensAsync(HttpClient admin)
    {
        using var doc = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/api/v1/tenants/dev/usage", UriKind.Relative), TestContext.Current.CancellationToken));
        return doc.RootElement.GetProperty("counters").GetProperty("windows").EnumerateArray()
            .Single(w => w.GetProperty("window").GetString() == "lifetime").GetProperty("tokens").GetInt64();
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}

[Collection(GatewayCollection.Name)]
public sealed class MockUpstreamCoHostedTests(GatewayFixture gateway) : MockUpstreamGatewayTests
{
    protected override Uri BaseAddress => gateway.BaseAddress;

    protected override MockUpstreamServer Mock => gateway.Mock;

    [Fact]
    public async Task No_key_appears_in_any_log_line()
    {
        // Traffic that exercises success, streaming, retries, permanent and mid-stream errors and a bad tenant key.
        using var http = new HttpClient { BaseAddress = BaseAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
        foreach (var content in new[] { "plain", "[mock:auth] x", "[mock:server] x", "[mock:context_length] x" })
        {
            using var r = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent(JsonSerializer.Serialize(new { model = "mock-gpt", messages = new[] { new { role = "user", content } } }), Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        }

        using (await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent("""{"model":"mock-rl","messages":[{"role":"user","content":"[mock:rate_limit] x"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
        }

        using (var s = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent("""{"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"[mock:midstream] x"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
            await s.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        }

        using var wrong = new HttpClient { BaseAddress = BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", "sk-llmrouter-not-a-tenant-key-77");
        using (await wrong.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent("""{"model":"mock-gpt","messages":[{"role":"user","content":"x"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
        }

        var lines = gateway.Logs.Lines.ToList();
        Assert.Contains(lines, l => l.Contains("authentication", StringComparison.Ordinal)); // the failures were logged...
        Assert.Contains(lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal)); // ...and so were the upstream requests
        foreach (var secret in new[] { MockBackedConfig.Key, GatewayFixture.DevKey, "sk-llmrouter-not-a-tenant-key-77" })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal)); // ...without a key in any of them
        }
    }
}

[Collection(FrontEndCollection.Name)]
public sealed class MockUpstreamFrontEndTests(FrontEndFixture fx) : MockUpstreamGatewayTests
{
    protected override Uri BaseAddress => fx.Client.BaseAddress!;

    protected override MockUpstreamServer Mock => fx.Mock;
}
