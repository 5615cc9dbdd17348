using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.Gemini;
using Orleans.LlmRouter.Providers.Ollama;
using Orleans.LlmRouter.Providers.OpenAi;
using Orleans.LlmRouter.Providers.Tests.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Conformance;

/// <summary>
/// Every HTTP adapter (openai, azure_openai, anthropic, gemini, ollama, bedrock) against the mock's broken-upstream scenarios over loopback:
/// each failure is a typed <see cref="ProviderException"/> of the expected class, the chunks before it were handed on,
/// and no message carries the API key or the prompt.
/// </summary>
public sealed class UpstreamFaultTests(MockUpstreamFixture mock) : IClassFixture<MockUpstreamFixture>
{
    private const string Key = "sk-fault-SECRET-0123456789abcdef";
    private const string Prompt = "PRIVATE-PROMPT-7731 please write a reply long enough for several pieces";

    private const string Azure = "azure_openai";
    private const string Bedrock = "bedrock";

    public static TheoryData<string> Types => [ProviderTypes.OpenAi, Azure, ProviderTypes.Anthropic, ProviderTypes.Gemini, ProviderTypes.Ollama, Bedrock];

    public static TheoryData<string, string> TypesAndShapes => new()
    {
        { ProviderTypes.OpenAi, "missing_field" }, { ProviderTypes.OpenAi, "wrong_type" },
        { ProviderTypes.Anthropic, "missing_field" }, { ProviderTypes.Anthropic, "wrong_type" },
        { ProviderTypes.Gemini, "missing_field" }, { ProviderTypes.Gemini, "wrong_type" },
        { ProviderTypes.Ollama, "missing_field" }, { ProviderTypes.Ollama, "wrong_type" },
        { Azure, "missing_field" }, { Azure, "wrong_type" },
        { Bedrock, "missing_field" }, { Bedrock, "wrong_type" },
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProviderDefinition Provider(string type, TimeSpan? idle = null) =>
        new(type + "-fault", type, mock.Server.BaseAddress.ToString(), "FAULT_KEY", TimeSpan.FromSeconds(20), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None)
        {
            StreamIdleTimeout = idle ?? ProviderDefinition.DefaultStreamIdleTimeout,
        };

    private static ModelDefinition Model(string type) =>
        new("fault-model", type + "-fault", "mock-small", new HashSet<Capability> { Capability.Chat }, 128_000, 1024, new ModelPricing(1, 2), null, SourceLocation.None);

    private IChatProvider Adapter(string type, TimeSpan? idle = null, TimeProvider? time = null)
    {
        var provider = Provider(type, idle);
        return type switch
        {
            ProviderTypes.OpenAi => new OpenAiChatProvider(provider, new HttpClient(), Key, time),
            ProviderTypes.Anthropic => new AnthropicChatProvider(provider, new HttpClient(), Key, time),
            ProviderTypes.Gemini => new GeminiChatProvider(provider, new HttpClient(), Key, time),
            ProviderTypes.Ollama => new OllamaChatProvider(provider, new HttpClient(), Key, time),
            Azure => new AzureOpenAiProviderFactory(new SingleClientFactory(), _ => Key, time).Create(provider),
            Bedrock => new BedrockProviderFactory(new SingleClientFactory(), Tests.Bedrock.BedrockChatProviderTests.Environment(), time).Create(provider),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    private ProviderCall Call(string type, string scenario) =>
        new(new ChatRequest([RouterMessage.FromText("user", $"{Prompt} [mock:{scenario}]")]) { MaxOutputTokens = 200 }, Model(type), Provider(type));

    private static async Task DrainAsync(IAsyncEnumerable<ProviderStreamChunk> stream, List<ProviderStreamChunk> seen)
    {
        await foreach (var chunk in stream)
        {
            seen.Add(chunk);
        }
    }

    private static void AssertTyped(Exception thrown, ProviderErrorClass expected, string type)
    {
        var ex = Assert.IsAssignableFrom<ProviderException>(thrown);
        Assert.Equal(expected, ex.ErrorClass);
        Assert.Equal(type + "-fault", ex.Provider);
        Assert.Equal("mock-small", ex.Model);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(MockUpstream.MockUpstreamServer.AwsSecretAccessKey, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE-PROMPT", ex.ToString(), StringComparison.Ordinal);
        Assert.True(ex.CountsAgainstProvider);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_200_with_malformed_json_is_an_upstream_invalid_response(string type)
    {
        var thrown = await Record.ExceptionAsync(() => Adapter(type).CompleteAsync(Call(type, "malformed_json"), Ct));
        AssertTyped(thrown!, ProviderErrorClass.UpstreamInvalidResponse, type);
        Assert.False(((ProviderException)thrown!).IsTransient);
    }

    [Theory]
    [MemberData(nameof(TypesAndShapes))]
    public async Task A_200_without_its_required_field_or_with_it_of_the_wrong_type_is_an_upstream_invalid_response(string type, string scenario)
    {
        var thrown = await Record.ExceptionAsync(() => Adapter(type).CompleteAsync(Call(type, scenario), Ct));
        AssertTyped(thrown!, ProviderErrorClass.UpstreamInvalidResponse, type);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_stream_event_that_cannot_be_parsed_fails_after_the_chunks_before_it(string type)
    {
        var seen = new List<ProviderStreamChunk>();
        var thrown = await Record.ExceptionAsync(() => DrainAsync(Adapter(type).StreamAsync(Call(type, "malformed_json"), Ct), seen));
        AssertTyped(thrown!, ProviderErrorClass.UpstreamInvalidResponse, type);
        Assert.Equal(2, seen.Count);
        Assert.All(seen, c => Assert.NotNull(c.TextDelta));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_stream_that_ends_without_its_terminal_event_fails_after_the_chunks_before_it(string type)
    {
        var seen = new List<ProviderStreamChunk>();
        var thrown = await Record.ExceptionAsync(() => DrainAsync(Adapter(type).StreamAsync(Call(type, "truncated"), Ct), seen));
        AssertTyped(thrown!, ProviderErrorClass.UpstreamInvalidResponse, type);
        Assert.Equal("the stream ended without its terminal event", ((ProviderException)thrown!).ProviderMessage);
        Assert.Equal(2, seen.Count);
        Assert.All(seen, c => Assert.Null(c.FinishReason));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_connection_reset_mid_body_is_a_connection_error(string type)
    {
        var complete = await Record.ExceptionAsync(() => Adapter(type).CompleteAsync(Call(type, "reset"), Ct));
        AssertTyped(complete!, ProviderErrorClass.Connection, type);
        Assert.True(((ProviderException)complete!).IsTransient);

        var seen = new List<ProviderStreamChunk>();
        var streamed = await Record.ExceptionAsync(() => DrainAsync(Adapter(type).StreamAsync(Call(type, "reset"), Ct), seen));
        AssertTyped(streamed!, ProviderErrorClass.Connection, type);
        Assert.Equal(2, seen.Count);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_stream_that_stalls_after_its_first_chunks_is_a_timeout_and_the_upstream_request_is_aborted(string type)
    {
        var time = new FakeTimeProvider();
        var idle = TimeSpan.FromSeconds(30);
        var before = mock.Server.AbortedRequests;
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(TimeSpan.FromSeconds(30)); // only turns a regression into a quick failure instead of a hang
        var chunks = Adapter(type, idle, time).StreamAsync(Call(type, "stall"), guard.Token).GetAsyncEnumerator(guard.Token);
        await using (chunks)
        {
            Assert.True(await chunks.MoveNextAsync());
            Assert.True(await chunks.MoveNextAsync()); // two chunks, then the upstream goes silent with the request open

            var next = chunks.MoveNextAsync();
            time.Advance(idle - TimeSpan.FromSeconds(1));
            Assert.False(next.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(1));
            var thrown = await Record.ExceptionAsync(async () => await next);
            AssertTyped(thrown!, ProviderErrorClass.Timeout, type);
            Assert.True(((ProviderException)thrown!).IsTransient);
            Assert.Contains("sent nothing for 30 s", ((ProviderException)thrown!).ProviderMessage, StringComparison.Ordinal);
        }

        await WaitForAbortAsync(before);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public async Task A_caller_that_cancels_a_stalled_stream_gets_a_cancellation_not_a_provider_error(string type)
    {
        var before = mock.Server.AbortedRequests;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var seen = 0;
        var thrown = await Record.ExceptionAsync(async () =>
        {
            await foreach (var chunk in Adapter(type, TimeSpan.FromMinutes(5), new FakeTimeProvider()).StreamAsync(Call(type, "stall"), caller.Token))
            {
                if (++seen == 2)
                {
                    await caller.CancelAsync();
                }
            }
        });
        Assert.IsAssignableFrom<OperationCanceledException>(thrown);
        Assert.Equal(2, seen);
        await WaitForAbortAsync(before);
    }

    /// <summary>The mock counts a request as aborted when its connection closes while it still answers; that is observed on its own thread.</summary>
    private async Task WaitForAbortAsync(int before)
    {
        for (var i = 0; i < 250 && mock.Server.AbortedRequests == before; i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(mock.Server.AbortedRequests > before, "the mock saw the upstream request aborted");
    }

    [Fact]
    public async Task An_openai_stream_without_a_usage_chunk_ends_with_its_finish_reason_and_no_usage()
    {
        var seen = new List<ProviderStreamChunk>();
        await DrainAsync(Adapter(ProviderTypes.OpenAi).StreamAsync(Call(ProviderTypes.OpenAi, "no_usage"), Ct), seen);
        Assert.StartsWith("PRIVATE-PROMPT", string.Concat(seen.Select(c => c.TextDelta)).Replace("Mock reply to: ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("stop", seen[^1].FinishReason);
        Assert.Null(seen[^1].Usage);

        var withUsage = new List<ProviderStreamChunk>();
        await DrainAsync(Adapter(ProviderTypes.OpenAi).StreamAsync(Call(ProviderTypes.OpenAi, "plain"), Ct), withUsage);
        Assert.Equal("stop", withUsage[^1].FinishReason);
        Assert.True(withUsage[^1].Usage!.CompletionTokens > 0);
    }
}
