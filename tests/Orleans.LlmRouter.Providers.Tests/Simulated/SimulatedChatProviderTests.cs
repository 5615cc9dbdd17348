using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Simulated;

namespace Orleans.LlmRouter.Providers.Tests.Simulated;

public sealed class SimulatedChatProviderTests
{
    private static ProviderDefinition Provider(Dictionary<string, string>? options = null) =>
        new("sim", ProviderTypes.Simulated, null, null, TimeSpan.FromSeconds(30), 1, true, ProviderLimits.Unlimited, BreakerSettings.Default, RetrySettings.Default, options ?? [], SourceLocation.None);

    private static readonly ModelDefinition Model = new("m", "sim", "m-1", new HashSet<Capability> { Capability.Chat }, 10_000, 1_000, new ModelPricing(1, 2), null, SourceLocation.None);

    private static ProviderCall Call(string text, ChatRequest? request = null) =>
        new(request ?? new ChatRequest([RouterMessage.FromText("user", text)]), Model, Provider());

    [Fact]
    public async Task Replies_are_deterministic_with_realistic_usage()
    {
        var provider = new SimulatedChatProvider(Provider());
        var a = await provider.CompleteAsync(Call("the same question"), TestContext.Current.CancellationToken);
        var b = await provider.CompleteAsync(Call("the same question"), TestContext.Current.CancellationToken);
        Assert.Equal(a.Message.Text, b.Message.Text);
        Assert.Contains("the same question", a.Message.Text, StringComparison.Ordinal);
        Assert.Equal("stop", a.FinishReason);
        Assert.True(a.Usage.PromptTokens > 0 && a.Usage.CompletionTokens > 0);
    }

    [Fact]
    public async Task A_small_max_output_ends_with_length()
    {
        var provider = new SimulatedChatProvider(Provider());
        var r = await provider.CompleteAsync(Call("x", new ChatRequest([RouterMessage.FromText("user", "tell me everything about everything")]) { MaxOutputTokens = 3 }), TestContext.Current.CancellationToken);
        Assert.Equal("length", r.FinishReason);
        Assert.True(r.Usage.CompletionTokens <= 3);
    }

    [Fact]
    public async Task Json_schema_requests_get_json_that_fits_and_tools_get_a_call()
    {
        var provider = new SimulatedChatProvider(Provider());
        var schema = """{"type":"object","properties":{"title":{"type":"string"},"count":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["title","count"]}""";
        var json = await provider.CompleteAsync(Call("x", new ChatRequest([RouterMessage.FromText("user", "outline")]) { ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "o", schema) }), TestContext.Current.CancellationToken);
        Assert.Null(Core.Validation.JsonOutputValidator.Validate(json.Message.Text, schema));

        var tools = new ChatRequest([RouterMessage.FromText("user", "weather in Paris")]) { Tools = [new ToolDefinition("get_weather", null, """{"type":"object","properties":{"city":{"type":"string"}}}""")] };
        var call = await provider.CompleteAsync(Call("x", tools), TestContext.Current.CancellationToken);
        Assert.Equal("tool_calls", call.FinishReason);
        var tc = Assert.Single(call.Message.ToolCalls!);
        Assert.Equal("get_weather", tc.Name);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(tc.ArgumentsJson).RootElement.ValueKind);
    }

    [Theory]
    [InlineData("rate_limit", ProviderErrorClass.RateLimited, true)]
    [InlineData("server", ProviderErrorClass.Server, true)]
    [InlineData("overloaded", ProviderErrorClass.Overloaded, true)]
    [InlineData("timeout", ProviderErrorClass.Timeout, true)]
    [InlineData("connection", ProviderErrorClass.Connection, true)]
    [InlineData("bad_request", ProviderErrorClass.BadRequest, false)]
    [InlineData("auth", ProviderErrorClass.Authentication, false)]
    [InlineData("context_length", ProviderErrorClass.ContextLengthExceeded, false)]
    [InlineData("content_policy", ProviderErrorClass.ContentPolicy, false)]
    public async Task Injected_failures_map_to_their_error_class(string kind, ProviderErrorClass errorClass, bool transient)
    {
        var provider = new SimulatedChatProvider(Provider());
        var ex = await Assert.ThrowsAnyAsync<ProviderException>(() => provider.CompleteAsync(Call($"fail please [simulate:{kind}]"), TestContext.Current.CancellationToken));
        Assert.Equal(errorClass, ex.ErrorClass);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal("sim", ex.Provider);
        Assert.Equal("m-1", ex.Model);
    }

    [Fact]
    public async Task A_targeted_failure_only_hits_its_model()
    {
        var provider = new SimulatedChatProvider(Provider());
        var r = await provider.CompleteAsync(Call("only other [simulate:server@another-model]"), TestContext.Current.CancellationToken);
        Assert.Equal("stop", r.FinishReason);
    }

    [Fact]
    public async Task Streams_chunk_the_reply_and_end_with_usage_and_midstream_failures_come_after_chunks()
    {
        var provider = new SimulatedChatProvider(Provider());
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var c in provider.StreamAsync(Call("stream this reply please"), TestContext.Current.CancellationToken))
        {
            chunks.Add(c);
        }

        Assert.True(chunks.Count > 3);
        Assert.NotNull(chunks[^1].Usage);
        Assert.Equal("stop", chunks[^1].FinishReason);
        var whole = await provider.CompleteAsync(Call("stream this reply please"), TestContext.Current.CancellationToken);
        Assert.Equal(whole.Message.Text, string.Concat(chunks.Select(c => c.TextDelta)));

        var seen = 0;
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, async () =>
        {
            await foreach (var c in provider.StreamAsync(Call("break me [simulate:midstream]"), TestContext.Current.CancellationToken))
            {
                seen++;
            }
        });
        Assert.Equal(2, seen);
    }

    [Fact]
    public async Task Latency_runs_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider();
        var provider = new SimulatedChatProvider(Provider(new() { ["latency_ms"] = "500" }), clock);
        var pending = provider.CompleteAsync(Call("slow"), TestContext.Current.CancellationToken);
        Assert.False(pending.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(pending.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("stop", (await pending).FinishReason);
    }

    [Fact]
    public async Task Embeddings_are_deterministic_unit_vectors()
    {
        var provider = new SimulatedChatProvider(Provider());
        var call = new EmbeddingCall(["alpha", "beta", "alpha"], Model, Provider(), 8);
        var r = await provider.EmbedAsync(call, TestContext.Current.CancellationToken);
        Assert.Equal(3, r.Vectors.Count);
        Assert.Equal(r.Vectors[0], r.Vectors[2]);
        Assert.NotEqual(r.Vectors[0], r.Vectors[1]);
        Assert.Equal(1.0, Math.Sqrt(r.Vectors[1].Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public async Task Embeddings_of_texts_that_share_most_words_are_near_and_of_unrelated_texts_are_not()
    {
        var provider = new SimulatedChatProvider(Provider());
        var call = new EmbeddingCall(["what is the capital city of france", "what is the capital city of france today", "how do I bake sourdough bread at home"], Model, Provider(), 256);
        var r = await provider.EmbedAsync(call, TestContext.Current.CancellationToken);
        static double Cos(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
        Assert.True(Cos(r.Vectors[0], r.Vectors[1]) > 0.9, $"near: {Cos(r.Vectors[0], r.Vectors[1])}");
        Assert.True(Cos(r.Vectors[0], r.Vectors[2]) < 0.5, $"unrelated: {Cos(r.Vectors[0], r.Vectors[2])}");
    }
}
