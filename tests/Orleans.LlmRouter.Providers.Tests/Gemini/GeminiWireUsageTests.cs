using System.Text;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Gemini;
using Orleans.LlmRouter.Providers.Tests.Golden;

namespace Orleans.LlmRouter.Providers.Tests.Gemini;

/// <summary>Gemini's usageMetadata: zero counts omitted, thoughts added to the completion as its reasoning part.</summary>
public sealed class GeminiWireUsageTests
{
    private static async Task<TokenUsage> ReadAsync(string usageMetadata)
    {
        var body = $$"""{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{{usageMetadata}},"modelVersion":"gemini-2.5-flash"}""";
        await using var server = await GoldenServer.StartAsync(Encoding.UTF8.GetBytes(body), "application/json");
        var provider = new ProviderDefinition("gm", ProviderTypes.Gemini, server.BaseAddress.ToString(), null, TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);
        var model = new ModelDefinition("g", "gm", "gemini-2.5-flash", new HashSet<Capability> { Capability.Chat }, 1_000_000, 65_536, new ModelPricing(1, 2), null, SourceLocation.None);
        var response = await new GeminiChatProvider(provider, new HttpClient(), "k").CompleteAsync(new ProviderCall(new ChatRequest([RouterMessage.FromText("user", "hi")]), model, provider), TestContext.Current.CancellationToken);
        return response.Usage;
    }

    [Fact]
    public async Task Omitted_and_null_counts_read_as_zero()
    {
        Assert.Equal(new TokenUsage(40, 0), await ReadAsync("""{"promptTokenCount":40,"totalTokenCount":40}"""));
        Assert.Equal(new TokenUsage(40, 7), await ReadAsync("""{"promptTokenCount":40,"candidatesTokenCount":7,"cachedContentTokenCount":null,"thoughtsTokenCount":null}"""));
    }

    [Fact]
    public async Task Cached_tokens_never_exceed_the_prompt()
    {
        Assert.Equal(new TokenUsage(40, 7, CachedTokens: 40, ReasoningTokens: 2), await ReadAsync("""{"promptTokenCount":40,"candidatesTokenCount":5,"cachedContentTokenCount":64,"thoughtsTokenCount":2}"""));
    }
}
