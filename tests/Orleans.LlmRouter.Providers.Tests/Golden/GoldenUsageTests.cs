using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;
using Orleans.LlmRouter.Providers.Abstractions;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.Common;
using Orleans.LlmRouter.Providers.Gemini;
using Orleans.LlmRouter.Providers.Ollama;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.Golden;

/// <summary>
/// Golden billing tests: a recorded usage payload of each provider (Golden/Bodies) is served over real HTTP on
/// loopback, read by the adapter, and priced by the calculator. The expected cost is a literal worked out by hand from
/// the price sheet below (a count times a price in USD per 1M tokens is micro-dollars, µ$); nothing expected is
/// computed by the code under test.
/// </summary>
public sealed class GoldenUsageTests
{
    // The price sheet: list prices in USD per 1M tokens as read from /work/shared/providers.md (July 2026), the same as
    // config/models.yaml. Anthropic cache writes are 1.25x input (5-minute TTL) and 2x input (one-hour TTL).
    private static readonly ModelPricing Gpt5 = new(Input: 1.25m, Output: 10.00m, CachedInput: 0.125m);
    private static readonly ModelPricing Gpt4o = new(Input: 2.50m, Output: 10.00m, CachedInput: 1.25m);
    private static readonly ModelPricing DeepSeek = new(Input: 0.28m, Output: 0.42m, CachedInput: 0.028m);
    private static readonly ModelPricing ClaudeSonnet45 = new ModelPricing(Input: 3.00m, Output: 15.00m, CachedInput: 0.30m, CacheWrite: 3.75m, CacheWrite1h: 6.00m)
    {
        LongContext = [new LongContextPricing(200_000, Input: 6.00m, Output: 22.50m, CachedInput: 0.60m, CacheWrite: 7.50m, CacheWrite1h: 12.00m)],
    };
    private static readonly ModelPricing Gemini25Pro = new ModelPricing(Input: 1.25m, Output: 10.00m, CachedInput: 0.125m)
    {
        LongContext = [new LongContextPricing(200_000, Input: 2.50m, Output: 15.00m, CachedInput: 0.25m)],
    };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static ProviderDefinition Provider(string type, GoldenServer server) =>
        new("golden-" + type, type, server.BaseAddress.ToString(), null, TimeSpan.FromSeconds(10), 1, true, ProviderLimits.Unlimited,
            BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);

    private static ProviderCall Call(ProviderDefinition provider, string providerModel, ModelPricing pricing) =>
        new(new ChatRequest([RouterMessage.FromText("user", "hello")]),
            new ModelDefinition("golden", provider.Id, providerModel, new HashSet<Capability> { Capability.Chat }, 1_000_000, 65_536, pricing, null, SourceLocation.None),
            provider);

    private static async Task<TokenUsage> CompleteAsync(string type, string file, string contentType, string providerModel, ModelPricing pricing)
    {
        await using var server = await GoldenServer.StartAsync(file, contentType);
        var provider = Provider(type, server);
        var response = await Adapter(provider).CompleteAsync(Call(provider, providerModel, pricing), Cancel);
        Assert.Single(server.Paths);
        return response.Usage;
    }

    private static async Task<(TokenUsage Usage, string Text)> StreamAsync(string type, string file, string contentType, string providerModel, ModelPricing pricing)
    {
        await using var server = await GoldenServer.StartAsync(file, contentType);
        var provider = Provider(type, server);
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var chunk in Adapter(provider).StreamAsync(Call(provider, providerModel, pricing), Cancel))
        {
            chunks.Add(chunk);
        }

        Assert.Equal("stop", chunks[^1].FinishReason);
        return (chunks[^1].Usage!, string.Concat(chunks.Select(c => c.TextDelta)));
    }

    private static IChatProvider Adapter(ProviderDefinition provider) => provider.Type switch
    {
        ProviderTypes.OpenAi => new OpenAiChatProvider(provider, new HttpClient(), "sk-golden"),
        ProviderTypes.Anthropic => new AnthropicChatProvider(provider, new HttpClient(), "sk-ant-golden"),
        ProviderTypes.Gemini => new GeminiChatProvider(provider, new HttpClient(), "golden-key"),
        ProviderTypes.Ollama => new OllamaChatProvider(provider, new HttpClient(), null),
        "azure_openai" => new AzureOpenAiProviderFactory(new SingleClientFactory(), _ => "azure-golden").Create(provider),
        "bedrock" => new BedrockProviderFactory(new SingleClientFactory(), Bedrock.BedrockChatProviderTests.Environment()).Create(provider),
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    // ---- OpenAI: prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens

    [Fact]
    public async Task OpenAi_cached_and_reasoning_tokens_are_billed_from_the_json_answer()
    {
        var usage = await CompleteAsync(ProviderTypes.OpenAi, "openai-gpt5-cached-reasoning.json", "application/json", "gpt-5", Gpt5);
        Assert.Equal(new TokenUsage(2006, 300, CachedTokens: 1920, ReasoningTokens: 256), usage);

        // gpt-5: 86 uncached*1.25 + 1920 cached*0.125 + 300 completion*10 (reasoning is output-priced)
        // = 107.5 + 240 + 3000 = 3347.5 µ$
        Assert.Equal(0.0033475m, CostCalculator.Cost(Gpt5, usage.ToBilledTokens()));

        // with a reasoning price of 12: 107.5 + 240 + 44*10 + 256*12 = 107.5 + 240 + 440 + 3072 = 3859.5 µ$
        Assert.Equal(0.0038595m, CostCalculator.Cost(Gpt5 with { Reasoning = 12m }, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task OpenAi_stream_usage_chunk_is_billed_the_same()
    {
        var (usage, text) = await StreamAsync(ProviderTypes.OpenAi, "openai-gpt5-cached-reasoning.sse", "text/event-stream", "gpt-5", Gpt5);
        Assert.Equal("The capital of France is Paris.", text);
        Assert.Equal(new TokenUsage(2006, 300, CachedTokens: 1920, ReasoningTokens: 256), usage);

        // as above: 107.5 + 240 + 3000 = 3347.5 µ$; with reasoning at 12: 3859.5 µ$
        Assert.Equal(0.0033475m, CostCalculator.Cost(Gpt5, usage.ToBilledTokens()));
        Assert.Equal(0.0038595m, CostCalculator.Cost(Gpt5 with { Reasoning = 12m }, usage.ToBilledTokens()));
    }

    // ---- DeepSeek: prompt_cache_hit_tokens / prompt_cache_miss_tokens

    [Fact]
    public async Task DeepSeek_cache_hits_are_billed_at_the_cached_price_and_misses_at_input()
    {
        var usage = await CompleteAsync(ProviderTypes.OpenAi, "deepseek-chat-cache-hit-miss.json", "application/json", "deepseek-chat", DeepSeek);
        Assert.Equal(new TokenUsage(1500, 200, CachedTokens: 1280), usage);

        // deepseek-chat: 220 miss*0.28 + 1280 hit*0.028 + 200*0.42 = 61.6 + 35.84 + 84 = 181.44 µ$
        Assert.Equal(0.00018144m, CostCalculator.Cost(DeepSeek, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task DeepSeek_reasoner_stream_bills_cache_hits_and_reasoning()
    {
        var (usage, text) = await StreamAsync(ProviderTypes.OpenAi, "deepseek-reasoner-cache-hit-miss.sse", "text/event-stream", "deepseek-reasoner", DeepSeek);
        Assert.Equal("9.8 is larger.", text); // reasoning_content is not answer text
        Assert.Equal(new TokenUsage(1000, 900, CachedTokens: 640, ReasoningTokens: 700), usage);

        // deepseek-reasoner: 360 miss*0.28 + 640 hit*0.028 + 900*0.42 (reasoning is output-priced)
        // = 100.8 + 17.92 + 378 = 496.72 µ$
        Assert.Equal(0.00049672m, CostCalculator.Cost(DeepSeek, usage.ToBilledTokens()));

        // with a reasoning price of 2: 100.8 + 17.92 + 200*0.42 + 700*2 = 100.8 + 17.92 + 84 + 1400 = 1602.72 µ$
        Assert.Equal(0.00160272m, CostCalculator.Cost(DeepSeek with { Reasoning = 2m }, usage.ToBilledTokens()));
    }

    // ---- Anthropic: input + cache_read + cache_creation = prompt; cache_creation.ephemeral_5m/1h split the writes

    private static readonly TokenUsage AnthropicGolden = new(13_050, 400, CachedTokens: 10_000, CacheWriteTokens: 3_000, CacheWrite1hTokens: 1_000);

    // claude-sonnet-4-5: 50 input*3 + 10000 read*0.30 + 2000 5m-write*3.75 + 1000 1h-write*6 + 400 output*15
    // = 150 + 3000 + 7500 + 6000 + 6000 = 22 650 µ$
    private const decimal AnthropicGoldenCost = 0.02265m;

    [Fact]
    public async Task Anthropic_cache_writes_of_both_ttls_and_reads_are_billed_from_the_json_answer()
    {
        var usage = await CompleteAsync(ProviderTypes.Anthropic, "anthropic-sonnet-cache-write-read.json", "application/json", "claude-sonnet-4-5-20250929", ClaudeSonnet45);
        Assert.Equal(AnthropicGolden, usage);
        Assert.Equal(AnthropicGoldenCost, CostCalculator.Cost(ClaudeSonnet45, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Anthropic_stream_takes_the_prompt_from_message_start_and_the_cumulative_output_from_message_delta()
    {
        var (usage, text) = await StreamAsync(ProviderTypes.Anthropic, "anthropic-sonnet-cache-write-read.sse", "text/event-stream", "claude-sonnet-4-5-20250929", ClaudeSonnet45);
        Assert.Equal("Section 4.2 limits liability to the fees paid in the prior twelve months.", text); // thinking is not answer text
        Assert.Equal(AnthropicGolden, usage);
        Assert.Equal(AnthropicGoldenCost, CostCalculator.Cost(ClaudeSonnet45, usage.ToBilledTokens()));

        // Thinking is inside output_tokens (Anthropic reports no split) and priced as output: a reasoning price changes nothing.
        Assert.Equal(AnthropicGoldenCost, CostCalculator.Cost(ClaudeSonnet45 with { Reasoning = 99m }, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Anthropic_stream_whose_message_delta_repeats_the_prompt_counts_keeps_the_ttl_split_of_message_start()
    {
        var (usage, _) = await StreamAsync(ProviderTypes.Anthropic, "anthropic-sonnet-cache-write-read-full-delta.sse", "text/event-stream", "claude-sonnet-4-5-20250929", ClaudeSonnet45);
        Assert.Equal(AnthropicGolden, usage);
        Assert.Equal(AnthropicGoldenCost, CostCalculator.Cost(ClaudeSonnet45, usage.ToBilledTokens()));
    }

    // ---- Gemini: promptTokenCount (includes cachedContentTokenCount), candidatesTokenCount + thoughtsTokenCount

    [Fact]
    public async Task Gemini_cached_and_thoughts_tokens_are_billed_from_the_json_answer()
    {
        var usage = await CompleteAsync(ProviderTypes.Gemini, "gemini-pro-cached-thoughts.json", "application/json", "gemini-2.5-pro", Gemini25Pro);
        Assert.Equal(new TokenUsage(12_000, 1_500, CachedTokens: 8_000, ReasoningTokens: 1_200), usage);

        // gemini-2.5-pro: 4000 uncached*1.25 + 8000 cached*0.125 + (300 + 1200 thoughts)*10 = 5000 + 1000 + 15000 = 21 000 µ$
        Assert.Equal(0.021m, CostCalculator.Cost(Gemini25Pro, usage.ToBilledTokens()));

        // with a thinking price of 12: 5000 + 1000 + 300*10 + 1200*12 = 5000 + 1000 + 3000 + 14400 = 23 400 µ$
        Assert.Equal(0.0234m, CostCalculator.Cost(Gemini25Pro with { Reasoning = 12m }, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Gemini_stream_takes_the_last_usage_metadata()
    {
        var (usage, text) = await StreamAsync(ProviderTypes.Gemini, "gemini-pro-cached-thoughts.sse", "text/event-stream", "gemini-2.5-pro", Gemini25Pro);
        Assert.Equal("The report's main finding is that churn fell 12% after the pricing change.", text);
        Assert.Equal(new TokenUsage(12_000, 1_500, CachedTokens: 8_000, ReasoningTokens: 1_200), usage);

        // as above: 5000 + 1000 + 15000 = 21 000 µ$
        Assert.Equal(0.021m, CostCalculator.Cost(Gemini25Pro, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Gemini_long_prompt_is_billed_at_the_long_context_tier_with_its_cached_price()
    {
        var usage = await CompleteAsync(ProviderTypes.Gemini, "gemini-pro-long-context.json", "application/json", "gemini-2.5-pro", Gemini25Pro);
        Assert.Equal(new TokenUsage(250_000, 3_000, CachedTokens: 200_000, ReasoningTokens: 2_000), usage);

        // 250 000 > 200 000: the tier. 50000 uncached*2.50 + 200000 cached*0.25 + (1000 + 2000 thoughts)*15
        // = 125000 + 50000 + 45000 = 220 000 µ$
        Assert.Equal(0.22m, CostCalculator.Cost(Gemini25Pro, usage.ToBilledTokens()));
    }

    // ---- Ollama: prompt_eval_count, eval_count

    [Fact]
    public async Task Ollama_counts_are_read_from_the_final_object_json_and_ndjson()
    {
        var json = await CompleteAsync(ProviderTypes.Ollama, "ollama-chat.json", "application/json", "llama3.2:3b", ModelPricing.Free);
        var (streamed, text) = await StreamAsync(ProviderTypes.Ollama, "ollama-chat.ndjson", "application/x-ndjson", "llama3.2:3b", ModelPricing.Free);
        Assert.Equal("The sky is blue because of Rayleigh scattering.", text);
        foreach (var usage in new[] { json, streamed })
        {
            Assert.Equal(new TokenUsage(26, 290), usage);
            Assert.Equal(0m, CostCalculator.Cost(ModelPricing.Free, usage.ToBilledTokens())); // local: the sheet says 0

            // a charge-back price for a self-hosted model, 0.10 / 0.40: 26*0.10 + 290*0.40 = 2.6 + 116 = 118.6 µ$
            Assert.Equal(0.0001186m, CostCalculator.Cost(new ModelPricing(0.10m, 0.40m), usage.ToBilledTokens()));
        }
    }

    // ---- Azure OpenAI: OpenAI's usage (prompt_tokens_details.cached_tokens), around Azure's filter results

    // gpt-4o: 476 uncached*2.50 + 1024 cached*1.25 + 200 completion*10 = 1190 + 1280 + 2000 = 4470 µ$
    private const decimal AzureGoldenCost = 0.00447m;

    [Fact]
    public async Task Azure_cached_tokens_are_billed_from_the_json_answer()
    {
        var usage = await CompleteAsync("azure_openai", "azure-gpt4o-cached.json", "application/json", "gpt-4o-deployment", Gpt4o);
        Assert.Equal(new TokenUsage(1500, 200, CachedTokens: 1024), usage);
        Assert.Equal(AzureGoldenCost, CostCalculator.Cost(Gpt4o, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Azure_stream_skips_the_prompt_filter_chunk_and_bills_the_usage_chunk()
    {
        var (usage, text) = await StreamAsync("azure_openai", "azure-gpt4o-cached.sse", "text/event-stream", "gpt-4o-deployment", Gpt4o);
        Assert.Equal("The invoice total is 1,240 EUR.", text);
        Assert.Equal(new TokenUsage(1500, 200, CachedTokens: 1024), usage);
        Assert.Equal(AzureGoldenCost, CostCalculator.Cost(Gpt4o, usage.ToBilledTokens()));
    }

    // ---- Bedrock: inputTokens (uncached) + cacheReadInputTokens + cacheWriteInputTokens = prompt

    private static readonly TokenUsage BedrockGolden = new(13_050, 400, CachedTokens: 10_000, CacheWriteTokens: 3_000);

    // claude-sonnet-4-5 on Bedrock (Anthropic's list prices, 5-minute cache writes at 1.25x input):
    // 50 input*3 + 10000 read*0.30 + 3000 write*3.75 + 400 output*15 = 150 + 3000 + 11250 + 6000 = 20 400 µ$
    private const decimal BedrockGoldenCost = 0.0204m;

    [Fact]
    public async Task Bedrock_cache_reads_and_writes_are_billed_from_the_converse_answer()
    {
        var usage = await CompleteAsync("bedrock", "bedrock-sonnet-cache-write-read.json", "application/json", "anthropic.claude-sonnet-4-5-20250929-v1:0", ClaudeSonnet45);
        Assert.Equal(BedrockGolden, usage);
        Assert.Equal(BedrockGoldenCost, CostCalculator.Cost(ClaudeSonnet45, usage.ToBilledTokens()));
    }

    [Fact]
    public async Task Bedrock_stream_bills_the_metadata_event_of_the_event_stream()
    {
        // The recorded events, framed by the AWS SDK's own encoder (prelude, headers, payload, CRCs) as Bedrock sends them.
        var events = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Golden", "Bodies", "bedrock-sonnet-cache-write-read.events.json"), Cancel));
        using var body = new MemoryStream();
        foreach (var e in events.RootElement.EnumerateArray())
        {
            body.Write(Frame(e.GetProperty("event").GetString()!, e.GetProperty("payload").GetRawText()));
        }

        await using var server = await GoldenServer.StartAsync(body.ToArray(), "application/vnd.amazon.eventstream");
        var provider = Provider("bedrock", server);
        var chunks = new List<ProviderStreamChunk>();
        await foreach (var chunk in Adapter(provider).StreamAsync(Call(provider, "anthropic.claude-sonnet-4-5-20250929-v1:0", ClaudeSonnet45), Cancel))
        {
            chunks.Add(chunk);
        }

        Assert.Equal("Section 4.2 limits liability to the fees paid in the prior twelve months.", string.Concat(chunks.Select(c => c.TextDelta)));
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.Equal(BedrockGolden, chunks[^1].Usage);
        Assert.Equal(BedrockGoldenCost, CostCalculator.Cost(ClaudeSonnet45, chunks[^1].Usage!.ToBilledTokens()));
        Assert.EndsWith("/converse-stream", Assert.Single(server.Paths), StringComparison.Ordinal);
    }

    private static byte[] Frame(string eventType, string json)
    {
        Amazon.Runtime.EventStreams.EventStreamHeader Header(string name, string value)
        {
            var header = new Amazon.Runtime.EventStreams.EventStreamHeader(name);
            header.SetString(value);
            return header;
        }

        return new Amazon.Runtime.EventStreams.EventStreamMessage(
            [Header(":event-type", eventType), Header(":content-type", "application/json"), Header(":message-type", "event")],
            Encoding.UTF8.GetBytes(json)).ToByteArray();
    }
}
