using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Anthropic;

namespace Orleans.LlmRouter.Providers.Tests.Anthropic;

/// <summary>Anthropic's usage object field by field, as message_start and message_delta carry it.</summary>
public sealed class AnthropicWireUsageTests
{
    private static TokenUsage Read(string json, TokenUsage? previous = null) => AnthropicWire.Usage(JsonDocument.Parse(json).RootElement, previous);

    private static readonly TokenUsage Started = new(13_050, 1, CachedTokens: 10_000, CacheWriteTokens: 3_000, CacheWrite1hTokens: 1_000);

    [Fact]
    public void A_delta_giving_input_and_reads_but_not_the_writes_keeps_the_writes_from_message_start()
    {
        var usage = Read("""{"input_tokens":50,"cache_read_input_tokens":10000,"output_tokens":400}""", Started);
        Assert.Equal(Started with { CompletionTokens = 400 }, usage);
    }

    [Fact]
    public void A_delta_with_only_output_tokens_keeps_every_prompt_count()
    {
        Assert.Equal(Started with { CompletionTokens = 400 }, Read("""{"output_tokens":400}""", Started));
    }

    [Fact]
    public void Null_counts_are_treated_as_absent()
    {
        var usage = Read("""{"input_tokens":null,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"cache_creation":null,"output_tokens":400}""", Started);
        Assert.Equal(Started with { CompletionTokens = 400 }, usage);
    }

    [Fact]
    public void Without_the_ttl_breakdown_every_write_is_a_five_minute_write()
    {
        var usage = Read("""{"input_tokens":10,"cache_creation_input_tokens":500,"cache_read_input_tokens":0,"output_tokens":5}""");
        Assert.Equal(new TokenUsage(510, 5, CacheWriteTokens: 500), usage);
    }

    [Fact]
    public void The_breakdown_alone_gives_the_writes_and_the_one_hour_part_never_exceeds_them()
    {
        Assert.Equal(
            new TokenUsage(310, 5, CacheWriteTokens: 300, CacheWrite1hTokens: 100),
            Read("""{"input_tokens":10,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":100},"output_tokens":5}"""));
        Assert.Equal(
            new TokenUsage(60, 5, CacheWriteTokens: 50, CacheWrite1hTokens: 50),
            Read("""{"input_tokens":10,"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":80},"output_tokens":5}"""));
    }
}
