using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Core.Tests;

public sealed class PromptTokenCounterTests
{
    private static readonly PromptPart[] Hello = [new("You are terse.", 0), new("Hello, world! This is a test of the tokenizer.", 0)];

    [Theory]
    [InlineData("openai", "gpt-4o-mini", TokenizerFamily.O200k)]
    [InlineData("openai", "gpt-4.1", TokenizerFamily.O200k)]
    [InlineData("openai", "gpt-5-mini", TokenizerFamily.O200k)]
    [InlineData("openai", "o3-mini", TokenizerFamily.O200k)]
    [InlineData("openai", "gpt-4-turbo", TokenizerFamily.Cl100k)]
    [InlineData("openai", "gpt-3.5-turbo", TokenizerFamily.Cl100k)]
    [InlineData("openai", "text-embedding-3-small", TokenizerFamily.Cl100k)]
    [InlineData("anthropic", "claude-sonnet-4-5", TokenizerFamily.Claude)]
    [InlineData("openai", "deepseek-chat", TokenizerFamily.Heuristic)]
    [InlineData("gemini", "gemini-2.5-flash", TokenizerFamily.Heuristic)]
    [InlineData("ollama", "llama3.2", TokenizerFamily.Heuristic)]
    public void Families_follow_the_provider_type_and_model_id(string type, string model, TokenizerFamily expected) =>
        Assert.Equal(expected, PromptTokenCounter.FamilyOf(type, model));

    [Fact]
    public void OpenAi_families_count_exactly_with_chat_framing()
    {
        using var counter = new PromptTokenCounter();

        // o200k: "You are terse." = 4 tokens, the second text = 12; 3 per message + 3 for the reply.
        Assert.Equal(4 + 12 + (2 * 3) + 3, counter.Count(TokenizerFamily.O200k, Hello));
        Assert.Equal(3 + 3 + 2, counter.Count(TokenizerFamily.Cl100k, [new("hi there", 0)]));
    }

    [Fact]
    public void Exact_counts_are_cached_by_family_and_prompt()
    {
        using var counter = new PromptTokenCounter();
        var first = counter.Count(TokenizerFamily.O200k, Hello, "tool schema");
        Assert.Equal((0, 1), (counter.CacheHits, counter.CacheMisses));

        Assert.Equal(first, counter.Count(TokenizerFamily.O200k, [new("You are terse.", 0), new("Hello, world! This is a test of the tokenizer.", 0)], "tool schema"));
        Assert.Equal((1, 1), (counter.CacheHits, counter.CacheMisses));

        counter.Count(TokenizerFamily.Cl100k, Hello, "tool schema"); // another family: another entry
        counter.Count(TokenizerFamily.O200k, Hello, "other tools"); // other tools: another entry
        counter.Count(TokenizerFamily.O200k, [new("You are terse.Hello, world!", 0), new(" This is a test of the tokenizer.", 0)], "tool schema"); // same text, other split
        Assert.Equal((1, 4), (counter.CacheHits, counter.CacheMisses));
    }

    [Fact]
    public void Heuristic_families_err_high_and_claude_is_denser()
    {
        using var counter = new PromptTokenCounter();
        var text = new string('x', 700);
        var heuristic = counter.Count(TokenizerFamily.Heuristic, [new(text, 1)]);
        Assert.Equal(TokenEstimator.ReplyPriming + TokenEstimator.PerMessageOverhead + 175 + TokenEstimator.PerImage, heuristic);
        Assert.Equal(TokenEstimator.ReplyPriming + TokenEstimator.PerMessageOverhead + 200 + TokenEstimator.PerImage, counter.Count(TokenizerFamily.Claude, [new(text, 1)]));
        Assert.Equal((0, 0), (counter.CacheHits, counter.CacheMisses)); // heuristics are cheaper than a cache look-up
    }
}
