using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Tests.OpenAi;

/// <summary>The OpenAI-shaped usage object as OpenAI, DeepSeek and other compatible servers fill it.</summary>
public sealed class OpenAiWireUsageTests
{
    private static TokenUsage Read(string json) => OpenAiWire.Usage(JsonDocument.Parse(json).RootElement);

    [Fact]
    public void Null_details_and_null_counts_read_as_zero_instead_of_failing_the_answer()
    {
        Assert.Equal(new TokenUsage(120, 30), Read("""{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":null,"completion_tokens_details":null}"""));
        Assert.Equal(new TokenUsage(120, 30), Read("""{"prompt_tokens":120,"completion_tokens":30,"prompt_tokens_details":{"cached_tokens":null},"completion_tokens_details":{"reasoning_tokens":null}}"""));
    }

    [Fact]
    public void DeepSeek_hit_and_miss_give_the_prompt_when_prompt_tokens_is_absent()
    {
        Assert.Equal(new TokenUsage(1500, 200, CachedTokens: 1280), Read("""{"completion_tokens":200,"prompt_cache_hit_tokens":1280,"prompt_cache_miss_tokens":220}"""));
    }

    [Fact]
    public void Cached_and_reasoning_counts_never_exceed_what_they_are_part_of()
    {
        Assert.Equal(new TokenUsage(100, 10, CachedTokens: 100, ReasoningTokens: 10), Read("""{"prompt_tokens":100,"completion_tokens":10,"prompt_tokens_details":{"cached_tokens":150},"completion_tokens_details":{"reasoning_tokens":12}}"""));
    }
}
