using System.Text.Json;
using System.Text.RegularExpressions;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.MockUpstream;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Bedrock;

/// <summary>
/// The bedrock adapter against the mock's Converse surface, over real HTTP on loopback: every request is SigV4-signed
/// and the mock verifies the signature with the AWS SDK's signer.
/// </summary>
public sealed partial class BedrockChatProviderTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string ClaudeId = "anthropic.claude-3-5-haiku-20241022-v1:0";

    private static readonly ModelDefinition Claude = new("claude-bedrock", "br", ClaudeId, new HashSet<Capability> { Capability.Chat, Capability.Tools, Capability.Vision }, 200_000, 8192, new ModelPricing(0.8m, 4m), null, SourceLocation.None);

    private static readonly ModelDefinition Llama = new("llama-bedrock", "br", "meta.llama3-1-70b-instruct-v1:0", new HashSet<Capability> { Capability.Chat }, 128_000, 2048, new ModelPricing(0.72m, 0.72m), null, SourceLocation.None);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(Dictionary<string, string>? options = null) =>
        new("br", "bedrock", mock.Server.BaseAddress.ToString(), null, TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, options ?? new Dictionary<string, string> { ["region"] = "eu-west-1" }, SourceLocation.None);

    internal static Func<string, string?> Environment(string accessKey = MockUpstreamServer.AwsAccessKeyId, string secret = MockUpstreamServer.AwsSecretAccessKey, string? session = null) => name => name switch
    {
        AwsCredentialSource.AccessKeyVariable => accessKey,
        AwsCredentialSource.SecretKeyVariable => secret,
        AwsCredentialSource.SessionTokenVariable => session,
        _ => null,
    };

    private IChatProvider Adapter(Func<string, string?>? environment = null) =>
        new BedrockProviderFactory(new SingleClientFactory(), environment ?? Environment()).Create(Provider());

    private ProviderCall Call(ChatRequest request, ModelDefinition? model = null) => new(request, model ?? Claude, Provider());

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("system", "be brief"), RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100, Temperature = 0.3, Stop = ["END"] };

    private MockRequest Last => mock.Server.Requests[^1];

    [Fact]
    public async Task Converse_sends_a_signed_request_in_the_converse_shape_and_maps_the_answer()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("hello bedrock")), Ct);
        Assert.Equal("Mock reply to: hello bedrock", r.Message.Text);
        Assert.Equal("stop", r.FinishReason);
        Assert.True(r.Usage.PromptTokens > 0 && r.Usage.CompletionTokens > 0);
        Assert.NotNull(r.UpstreamId); // x-amzn-RequestId

        Assert.Equal($"/model/{ClaudeId}/converse", Last.Path);
        var sent = JsonDocument.Parse(Last.Body).RootElement;
        Assert.Equal("be brief", sent.GetProperty("system")[0].GetProperty("text").GetString());
        Assert.Equal(["user"], sent.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("hello bedrock", sent.GetProperty("messages")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var inference = sent.GetProperty("inferenceConfig");
        Assert.Equal(100, inference.GetProperty("maxTokens").GetInt32());
        Assert.Equal(0.3, inference.GetProperty("temperature").GetDouble());
        Assert.Equal("END", inference.GetProperty("stopSequences")[0].GetString());

        var authorization = Last.Headers["authorization"];
        Assert.Matches(SigV4Shape(), authorization);
        Assert.Contains("/eu-west-1/bedrock/aws4_request", authorization, StringComparison.Ordinal);
        Assert.DoesNotContain(MockUpstreamServer.AwsSecretAccessKey, string.Join('\n', Last.Headers.Values), StringComparison.Ordinal);

        var llama = await Adapter().CompleteAsync(Call(Ask("hello llama"), Llama), Ct);
        Assert.Equal("Mock reply to: hello llama", llama.Message.Text);
        Assert.Equal("/model/meta.llama3-1-70b-instruct-v1:0/converse", Last.Path);
    }

    [Fact]
    public async Task A_wrong_secret_unknown_key_or_session_token_is_an_authentication_error_from_the_signature_check()
    {
        var wrong = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(Environment(secret: "not-the-secret-key-at-all-0000000000000")).CompleteAsync(Call(Ask("who")), Ct));
        Assert.Equal(ProviderErrorClass.Authentication, wrong.ErrorClass);
        Assert.Contains("InvalidSignatureException", wrong.ProviderMessage, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(Environment(accessKey: "AKIAUNKNOWN000000000")).CompleteAsync(Call(Ask("who")), Ct));
        Assert.Equal(ProviderErrorClass.Authentication, unknown.ErrorClass);
        Assert.Contains("UnrecognizedClientException", unknown.ProviderMessage, StringComparison.Ordinal);

        // Temporary credentials: the session token is sent and signed, and the signature still verifies.
        var r = await Adapter(Environment(session: "FwoGZXIvYXdzEMOCKSESSIONTOKEN")).CompleteAsync(Call(Ask("temporary")), Ct);
        Assert.Equal("Mock reply to: temporary", r.Message.Text);
        Assert.Equal("FwoGZXIvYXdzEMOCKSESSIONTOKEN", Last.Headers["x-amz-security-token"]);
        Assert.Contains("x-amz-security-token", Last.Headers["authorization"], StringComparison.Ordinal);

        var none = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter(_ => null).CompleteAsync(Call(Ask("nobody")), Ct));
        Assert.Equal(ProviderErrorClass.Authentication, none.ErrorClass);
        Assert.Contains("AWS_ACCESS_KEY_ID", none.ProviderMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_of_the_shared_credentials_file_signs_instead_of_the_environment()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("llmrouter-aws-").FullName, "credentials");
        await File.WriteAllTextAsync(file, $"[default]\naws_access_key_id = AKIAUNKNOWN000000000\naws_secret_access_key = wrong\n\n[llmrouter]\naws_access_key_id = {MockUpstreamServer.AwsAccessKeyId}\naws_secret_access_key = {MockUpstreamServer.AwsSecretAccessKey}\n", Ct);
        try
        {
            var provider = Provider(new() { ["region"] = "eu-west-1", ["profile"] = "llmrouter" });
            var credentials = new AwsCredentialSource("llmrouter", Environment(accessKey: "AKIAUNKNOWN000000000"), file); // the profile wins over the variables
            var adapter = new BedrockChatProvider(provider, new HttpClient(), new SigV4Signer("eu-west-1", "bedrock", TimeProvider.System), credentials);
            var r = await adapter.CompleteAsync(new ProviderCall(Ask("from a profile"), Claude, provider), Ct);
            Assert.Equal("Mock reply to: from a profile", r.Message.Text);

            var missing = new BedrockChatProvider(provider, new HttpClient(), new SigV4Signer("eu-west-1", "bedrock", TimeProvider.System), new AwsCredentialSource("nope", _ => null, file));
            var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => missing.CompleteAsync(new ProviderCall(Ask("x"), Claude, provider), Ct));
            Assert.Equal(ProviderErrorClass.Authentication, ex.ErrorClass);
            Assert.Contains("profile 'nope'", ex.ProviderMessage, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Tools_and_images_are_sent_as_converse_blocks_and_tool_use_comes_back_as_tool_calls()
    {
        var weather = new ToolDefinition("get_weather", "Weather by city", """{"type":"object","properties":{"city":{"type":"string"}}}""");
        var r = await Adapter().CompleteAsync(Call(Ask("weather in paris?") with { Tools = [weather], ToolChoice = "required" }), Ct);
        Assert.Equal("tool_calls", r.FinishReason);
        var call = Assert.Single(r.Message.ToolCalls!);
        Assert.Equal(("tooluse_mock1", "get_weather", "{\"city\":\"Paris\"}"), (call.Id, call.Name, call.ArgumentsJson));
        var tools = JsonDocument.Parse(Last.Body).RootElement.GetProperty("toolConfig");
        Assert.Equal("get_weather", tools.GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("name").GetString());
        Assert.Equal("object", tools.GetProperty("tools")[0].GetProperty("toolSpec").GetProperty("inputSchema").GetProperty("json").GetProperty("type").GetString());
        Assert.True(tools.GetProperty("toolChoice").TryGetProperty("any", out _));

        // The tool result goes back in a user turn; the assistant turn carries the toolUse block.
        var followUp = new ChatRequest(
        [
            RouterMessage.FromText("user", "weather in paris?"),
            new RouterMessage("assistant", [], ToolCalls: [call]),
            new RouterMessage("tool", [ContentPart.FromText("18 C, sunny")], ToolCallId: call.Id),
        ]) { Tools = [weather] };
        var answer = await Adapter().CompleteAsync(Call(followUp), Ct);
        Assert.Equal("stop", answer.FinishReason);
        var turns = JsonDocument.Parse(Last.Body).RootElement.GetProperty("messages");
        Assert.Equal(["user", "assistant", "user"], turns.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("tooluse_mock1", turns[1].GetProperty("content")[0].GetProperty("toolUse").GetProperty("toolUseId").GetString());
        Assert.Equal("18 C, sunny", turns[2].GetProperty("content")[0].GetProperty("toolResult").GetProperty("content")[0].GetProperty("text").GetString());

        var image = new ChatRequest([new RouterMessage("user", [ContentPart.FromText("what is this"), ContentPart.FromImage("data:image/png;base64,iVBORw0KGgo=")])]);
        await Adapter().CompleteAsync(Call(image), Ct);
        var block = JsonDocument.Parse(Last.Body).RootElement.GetProperty("messages")[0].GetProperty("content")[1].GetProperty("image");
        Assert.Equal("png", block.GetProperty("format").GetString());
        Assert.Equal("iVBORw0KGgo=", block.GetProperty("source").GetProperty("bytes").GetString());

        var url = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(new ChatRequest([new RouterMessage("user", [ContentPart.FromImage("https://example.com/cat.png")])])), Ct));
        Assert.Equal(ProviderErrorClass.BadRequest, url.ErrorClass);
    }

    [Fact]
    public async Task Cache_reads_and_writes_are_counted_in_the_prompt()
    {
        var r = await Adapter().CompleteAsync(Call(Ask("cached [mock:cache]")), Ct);
        Assert.Equal(7, r.Usage.CacheWriteTokens);
        Assert.True(r.Usage.CachedTokens > 0);
        Assert.True(r.Usage.PromptTokens > r.Usage.CachedTokens + r.Usage.CacheWriteTokens, "prompt = input + cache reads + cache writes");
    }

    [Fact]
    public async Task ConverseStream_reads_the_event_stream_frames_text_tools_and_usage()
    {
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(Ask("stream from bedrock [mock:cache]")), Ct))
        {
            chunks.Add(c);
        }

        Assert.Equal($"/model/{ClaudeId}/converse-stream", Last.Path);
        Assert.Equal("Mock reply to: stream from bedrock [mock:cache]", string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.True(chunks.Count(c => c.TextDelta is not null) > 1);
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.Equal(7, chunks[^1].Usage!.CacheWriteTokens);
        Assert.True(chunks[^1].Usage!.CompletionTokens > 0);

        var tools = new List<ProviderStreamChunk>();
        await foreach (var c in Adapter().StreamAsync(Call(Ask("weather?") with { Tools = [new ToolDefinition("get_weather", null, null)] }), Ct))
        {
            tools.Add(c);
        }

        var call = Assert.Single(tools.Single(c => c.ToolCalls is not null).ToolCalls!);
        Assert.Equal(("get_weather", "{\"city\": \"Lyon\"}"), (call.Name, call.ArgumentsJson));
        Assert.Equal("tool_calls", tools[^1].FinishReason);
    }

    [Theory]
    [InlineData("throttling", ProviderErrorClass.RateLimited, 429)]
    [InlineData("quota", ProviderErrorClass.RateLimited, 400)]
    [InlineData("unavailable", ProviderErrorClass.Overloaded, 503)]
    [InlineData("server", ProviderErrorClass.Server, 500)]
    [InlineData("model_timeout", ProviderErrorClass.Timeout, 408)]
    [InlineData("validation", ProviderErrorClass.BadRequest, 400)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, 400)]
    [InlineData("access_denied", ProviderErrorClass.Permission, 403)]
    [InlineData("not_found", ProviderErrorClass.NotFound, 404)]
    public async Task Bedrock_exception_types_map_to_the_error_classes(string scenario, ProviderErrorClass expected, int status)
    {
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => Adapter().CompleteAsync(Call(Ask($"x [mock:{scenario}]")), Ct));
        Assert.Equal(expected, ex.ErrorClass);
        Assert.Equal(status, ex.StatusCode);
        Assert.Contains("Exception: ", ex.ProviderMessage, StringComparison.Ordinal); // the type is named
        Assert.Equal(expected is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded or ProviderErrorClass.Server or ProviderErrorClass.Timeout, ex.IsTransient);
    }

    [Theory]
    [InlineData("midstream", ProviderErrorClass.Server, "ModelStreamErrorException")]
    [InlineData("midstream_throttle", ProviderErrorClass.RateLimited, "ThrottlingException")]
    public async Task An_exception_event_mid_stream_fails_after_the_chunks_before_it(string scenario, ProviderErrorClass expected, string type)
    {
        var seen = new List<ProviderStreamChunk>();
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask($"long enough reply [mock:{scenario}]")), Ct))
            {
                seen.Add(c);
            }
        });
        var ex = Assert.IsAssignableFrom<ProviderException>(thrown);
        Assert.Equal(expected, ex.ErrorClass);
        Assert.StartsWith(type + ": ", ex.ProviderMessage, StringComparison.Ordinal);
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task A_frame_whose_crc_is_wrong_is_an_upstream_invalid_response()
    {
        var seen = new List<ProviderStreamChunk>();
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var c in Adapter().StreamAsync(Call(Ask("long enough reply [mock:bad_crc]")), Ct))
            {
                seen.Add(c);
            }
        });
        var ex = Assert.IsAssignableFrom<ProviderException>(thrown);
        Assert.Equal(ProviderErrorClass.UpstreamInvalidResponse, ex.ErrorClass);
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void Stop_reasons_map_to_finish_reasons()
    {
        Assert.Equal("stop", BedrockWire.FinishReason("end_turn", false));
        Assert.Equal("stop", BedrockWire.FinishReason("stop_sequence", false));
        Assert.Equal("length", BedrockWire.FinishReason("max_tokens", false));
        Assert.Equal("tool_calls", BedrockWire.FinishReason("tool_use", true));
        Assert.Equal("content_filter", BedrockWire.FinishReason("guardrail_intervened", false));
        Assert.Equal("content_filter", BedrockWire.FinishReason("content_filtered", false));
    }

    [GeneratedRegex("^AWS4-HMAC-SHA256 Credential=AKIAMOCKUPSTREAM0001/[0-9]{8}/[a-z0-9-]+/bedrock/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$")]
    private static partial Regex SigV4Shape();
}
