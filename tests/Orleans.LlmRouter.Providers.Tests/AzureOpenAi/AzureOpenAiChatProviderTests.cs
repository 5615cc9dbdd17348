using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.AzureOpenAi;

/// <summary>The azure_openai adapter against the mock's Azure surface (both paths), over real HTTP on loopback.</summary>
public sealed class AzureOpenAiChatProviderTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "azure-key-SECRET-never-logged-9d1e";

    private static readonly ModelDefinition Model = new("gpt-azure", "az", "my-gpt4o-deployment", new HashSet<Capability> { Capability.Chat, Capability.Tools, Capability.Vision }, 128_000, 4096, new ModelPricing(2.5m, 10m), null, SourceLocation.None);

    private static readonly ModelDefinition Embedder = new("embed-azure", "az", "my-embedding-deployment", new HashSet<Capability> { Capability.Embedding }, 8191, 0, new ModelPricing(0.02m, 0), null, SourceLocation.None);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(Dictionary<string, string>? options = null) =>
        new("az", "azure_openai", mock.Server.BaseAddress.ToString(), "AZ_KEY", TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, options ?? [], SourceLocation.None);

    private IChatProvider Adapter(Dictionary<string, string>? options = null, string? key = Key, TokenCredential? tokens = null) =>
        new AzureOpenAiProviderFactory(new SingleClientFactory(), _ => key, tokens: tokens).Create(Provider(options));

    private ProviderCall Call(ChatRequest request, Dictionary<string, string>? options = null) => new(request, Model, Provider(options));

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100 };

    private MockRequest Last => mock.Server.Requests[^1];

    [Fact]
    public async Task Chat_goes_to_the_deployment_path_with_the_api_version_and_the_api_key_header()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello azure")), Ct);
        Assert.Equal("Mock reply to: hello azure", r.Message.Text);
        Assert.Equal("stop", r.FinishReason);
        Assert.True(r.Usage.PromptTokens > 0 && r.Usage.CompletionTokens > 0);
        Assert.Equal("/openai/deployments/my-gpt4o-deployment/chat/completions", Last.Path);
        Assert.Equal("?api-version=" + AzureOpenAiProviderFactory.DefaultApiVersion, Last.Query);
        Assert.Equal(Key, Last.Headers["api-key"]);
        Assert.False(Last.Headers.ContainsKey("authorization"));
        Assert.Equal(100, JsonDocument.Parse(Last.Body).RootElement.GetProperty("max_completion_tokens").GetInt32());

        await Adapter(new() { ["api_version"] = "2025-04-01-preview" }).CompleteAsync(Call(Ask("newer")), Ct);
        Assert.Equal("?api-version=2025-04-01-preview", Last.Query);
    }

    [Fact]
    public async Task The_v1_path_sends_the_deployment_as_the_model_and_no_api_version()
    {
        var v1 = new Dictionary<string, string> { ["api"] = "v1" };
        var r = await Adapter(v1).CompleteAsync(Call(Ask("hello v1"), v1), Ct);
        Assert.Equal("Mock reply to: hello v1", r.Message.Text);
        Assert.Equal("/openai/v1/chat/completions", Last.Path);
        Assert.Equal(string.Empty, Last.Query);
        Assert.Equal("my-gpt4o-deployment", JsonDocument.Parse(Last.Body).RootElement.GetProperty("model").GetString());
        Assert.Contains("mock-small", await Adapter(v1).ListModelsAsync(Ct)); // GET /openai/v1/models
        Assert.Contains("mock-small", await Adapter().ListModelsAsync(Ct));   // GET /openai/models?api-version=…
    }

    [Fact]
    public async Task Streaming_tools_structured_output_and_vision_use_the_openai_wire_format()
    {
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(Ask("stream from azure")), Ct))
        {
            chunks.Add(c);
        }

        Assert.Equal("Mock reply to: stream from azure", string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.True(chunks[^1].Usage!.CompletionTokens > 0);
        Assert.True(JsonDocument.Parse(Last.Body).RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());

        var tools = Ask("weather?") with { Tools = [new ToolDefinition("get_weather", "Weather", """{"type":"object","properties":{"city":{"type":"string"}}}""")] };
        var called = await Adapter().CompleteAsync(Call(tools), Ct);
        Assert.Equal("tool_calls", called.FinishReason);
        Assert.Equal("get_weather", Assert.Single(called.Message.ToolCalls!).Name);

        var json = await Adapter().CompleteAsync(Call(Ask("as json") with { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "answer", """{"type":"object"}""", Strict: true) }), Ct);
        Assert.Equal("json_schema", JsonDocument.Parse(Last.Body).RootElement.GetProperty("response_format").GetProperty("type").GetString());
        Assert.StartsWith("{\"answer\"", json.Message.Text, StringComparison.Ordinal);

        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("what is this"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=")])]);
        await Adapter().CompleteAsync(Call(image), Ct);
        Assert.Equal("image_url", JsonDocument.Parse(Last.Body).RootElement.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("type").GetString());
    }

    [Fact]
    public async Task Embeddings_go_to_the_deployment_path()
    {
        var r = await Adapter().EmbedAsync(new EmbeddingCall(["one", "two"], Embedder, Provider()), Ct);
        Assert.Equal(2, r.Vectors.Count);
        Assert.True(r.PromptTokens > 0);
        Assert.Equal("/openai/deployments/my-embedding-deployment/embeddings", Last.Path);
        Assert.Equal("?api-version=" + AzureOpenAiProviderFactory.DefaultApiVersion, Last.Query);

        var v1 = new Dictionary<string, string> { ["api"] = "v1" };
        await Adapter(v1).EmbedAsync(new EmbeddingCall(["one"], Embedder, Provider(v1)), Ct);
        Assert.Equal("/openai/v1/embeddings", Last.Path);
    }

    [Fact]
    public async Task A_filtered_prompt_is_content_policy_with_the_filter_result_and_the_region_in_the_message()
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("bad words [mock:content_filter_prompt]")), Ct));
        Assert.Equal(ProviderErrorClass.ContentPolicy, ex.ErrorClass);
        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("violence: medium", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.Contains("jailbreak: detected", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hate", ex.ProviderMessage, StringComparison.Ordinal); // not filtered: not named
        Assert.Contains("x-ms-region: swedencentral", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.Matches("apim-request-id: [0-9a-f-]{36}", ex.ProviderMessage);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task A_completion_finished_by_the_content_filter_is_content_policy_also_mid_stream()
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("story [mock:content_filter_completion]")), Ct));
        Assert.Equal(ProviderErrorClass.ContentPolicy, ex.ErrorClass);
        Assert.Contains("sexual: high", ex.ProviderMessage, StringComparison.Ordinal);

        var seen = new List<ProviderStreamChunk>();
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("story [mock:content_filter_completion]")), Ct))
            {
                seen.Add(c);
            }
        });
        var streamed = Assert.IsAssignableFrom<ProviderException>(thrown);
        Assert.Equal(ProviderErrorClass.ContentPolicy, streamed.ErrorClass);
        Assert.Contains("sexual: high", streamed.ProviderMessage, StringComparison.Ordinal);
        Assert.Equal("Once upon a time", string.Concat(seen.Select(c => c.TextDelta))); // the chunks before it were handed on
    }

    [Fact]
    public async Task Rate_limits_honour_retry_after_and_retry_after_ms_and_errors_name_the_region()
    {
        var seconds = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("busy [mock:rate_limit]")), Ct));
        Assert.Equal(ProviderErrorClass.RateLimited, seconds.ErrorClass);
        Assert.Equal(TimeSpan.FromSeconds(2), seconds.RetryAfter);
        Assert.Contains("x-ms-region: swedencentral", seconds.ProviderMessage, StringComparison.Ordinal);

        var ms = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("busy [mock:rate_limit_ms]")), Ct));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), ms.RetryAfter);

        var noRetry = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("x [mock:no_retry]")), Ct));
        Assert.False(noRetry.IsTransient); // x-should-retry: false
        Assert.Equal(ProviderErrorClass.ContextLengthExceeded, (await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask("x [mock:context_length]")), Ct))).ErrorClass);
    }

    [Fact]
    public async Task A_missing_api_version_or_key_is_answered_as_azure_does()
    {
        var noKey = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(key: null).CompleteAsync(Call(Ask("who am i")), Ct));
        Assert.Equal(ProviderErrorClass.Authentication, noKey.ErrorClass);
        Assert.Contains("Access denied", noKey.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entra_id_sends_a_bearer_token_from_the_credential_and_caches_it_until_near_expiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var credential = new FakeCredential(time, MockUpstreamServer.AzureEntraToken);
        var entra = new Dictionary<string, string> { ["auth"] = "entra_id" };
        var adapter = new AzureOpenAiProviderFactory(new SingleClientFactory(), _ => Key, time, credential, NullLoggerFactory.Instance).Create(Provider(entra));

        var r = await adapter.CompleteAsync(Call(Ask("hello entra"), entra), Ct);
        Assert.Equal("Mock reply to: hello entra", r.Message.Text);
        Assert.Equal("Bearer " + MockUpstreamServer.AzureEntraToken, Last.Headers["authorization"]);
        Assert.False(Last.Headers.ContainsKey("api-key")); // entra_id: the key variable is not read
        Assert.Equal([AzureOpenAiProviderFactory.EntraScope], credential.Scopes);

        await adapter.CompleteAsync(Call(Ask("again"), entra), Ct);
        Assert.Equal(1, credential.Calls); // cached

        time.Advance(TimeSpan.FromMinutes(56)); // within five minutes of the hour's expiry: refreshed
        await adapter.CompleteAsync(Call(Ask("later"), entra), Ct);
        Assert.Equal(2, credential.Calls);

        credential.Fail = true;
        time.Advance(TimeSpan.FromHours(2));
        var failed = await Assert.ThrowsAnyAsync<ProviderException>(() => adapter.CompleteAsync(Call(Ask("no token"), entra), Ct));
        Assert.Equal(ProviderErrorClass.Authentication, failed.ErrorClass);
    }

    private sealed class FakeCredential(TimeProvider time, string token) : TokenCredential
    {
        public int Calls { get; private set; }

        public bool Fail { get; set; }

        public string[] Scopes { get; private set; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Calls++;
            Scopes = requestContext.Scopes;
            return Fail
                ? throw new InvalidOperationException("the identity endpoint is unreachable")
                : ValueTask.FromResult(new AccessToken(token, time.GetUtcNow().AddHours(1)));
        }
    }
}
