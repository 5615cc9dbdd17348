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
    [InlineData("anthropic", "some-future-model", TokenizerFamily.Claude)] // the type fixes the family
    [InlineData("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", TokenizerFamily.Claude)]
    [InlineData("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", TokenizerFamily.Claude)]
    [InlineData("bedrock", "meta.llama3-1-8b-instruct-v1:0", TokenizerFamily.Heuristic)]
    [InlineData("openai", "deepseek-chat", TokenizerFamily.Heuristic)]
    [InlineData("gemini", "gemini-2.5-flash", TokenizerFamily.Heuristic)]
    [InlineData("ollama", "llama3.2", TokenizerFamily.Heuristic)]
    public void Families_follow_the_provider_type_and_model_id(string type, string model, TokenizerFamily expected) =>
        Assert.Equal(expected, PromptTokenCounter.FamilyOf(type == "anthropic" ? TokenizerFamily.Claude : null, model)); // as the anthropic type's registration says

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

public sealed class PromptTokenCounterChunkingTests
{
    private const string Prose = """
        The gateway counts prompt tokens before every call, so that a tenant's budget can be reserved for the worst case
        and settled with the provider's real figures afterwards. Counting must be cheap: it runs for every candidate model
        of a route, and a request may name a dozen of them. It must also be honest. An estimate that is too low lets a
        tenant overshoot its limit; one that is far too high refuses calls that would have fit. "Close to exact" is the
        bar, and for OpenAI's encodings we can do better than close: we run the same byte-pair encoding the provider runs.
        Numbers such as 3.14159, 2026-11-22, 1,234,567 and $19.99 split into several tokens; so do URLs like
        https://example.com/path?query=value&other=42, e-mail addresses (someone@example.org) and CamelCaseIdentifiers.
        Non-English text counts too: naïve café, Größe, 東京は大きな都市です, and emoji 🚀🎉 take more tokens per character.

        """;

    private const string Code = """
        public static async Task<int> RunAsync(string[] args)
        {
            ArgumentNullException.ThrowIfNull(args);
            var options = new Dictionary<string, string>(StringComparer.Ordinal) { ["mode"] = "fast", ["retries"] = "3" };
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                {
                    options[args[i][2..]] = args[++i];
                }
            }

            await using var stream = File.OpenRead(options.GetValueOrDefault("input") ?? "data.json");
            using var doc = await JsonDocument.ParseAsync(stream);
            return doc.RootElement.GetProperty("items").GetArrayLength() > 0 ? 0 : 1; // {"items":[1,2,3]}
        }

        """;

    public static TheoryData<string, string> Samples() => new()
    {
        { "o200k_base", string.Concat(Enumerable.Repeat(Prose, 40)) },
        { "cl100k_base", string.Concat(Enumerable.Repeat(Prose, 40)) },
        { "o200k_base", string.Concat(Enumerable.Repeat(Code, 40)) },
        { "cl100k_base", string.Concat(Enumerable.Repeat(Code, 40)) },
        { "o200k_base", string.Join(' ', Enumerable.Range(0, 3000).Select(i => $"item{i}:{i * 7919 % 1000}")) },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Pieces_count_ordinary_text_within_half_a_percent_of_the_whole_text(string encoding, string text)
    {
        Assert.True(text.Length > 10 * PromptTokenCounter.MaxPieceChars);
        var tokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding(encoding);
        var whole = tokenizer.CountTokens(text);
        var pieces = PromptTokenCounter.Tokens(tokenizer, text);
        Assert.InRange(Math.Abs(pieces - whole), 0, whole * 0.005);
    }

    [Theory]
    [InlineData("aaaa")]
    [InlineData("lorem ipsum dolor sit amet, ")]
    [InlineData("{\"k\":[1,2,3]},")]
    [InlineData("\U0001F680")]
    [InlineData("   ")]
    public void Pieces_cover_the_text_exactly_and_stay_bounded(string unit)
    {
        var text = string.Concat(Enumerable.Repeat(unit, 5_000));
        var rest = text.AsSpan();
        var rebuilt = new System.Text.StringBuilder();
        while (!rest.IsEmpty)
        {
            var length = PromptTokenCounter.NextPieceLength(rest);
            Assert.InRange(length, 1, PromptTokenCounter.MaxPieceChars);
            Assert.False(char.IsLowSurrogate(rest[length..].IsEmpty ? 'x' : rest[length]), "a surrogate pair was split");
            rebuilt.Append(rest[..length]);
            rest = rest[length..];
        }

        Assert.Equal(text, rebuilt.ToString());
    }

    [Fact]
    public void A_cut_falls_before_a_whitespace_run()
    {
        var text = new string('x', 200) + "   " + new string('y', 200);
        Assert.Equal(200, PromptTokenCounter.NextPieceLength(text));
    }

    /// <summary>
    /// Liveness, not speed: a run of one character is counted in time linear in its length (a counter that is quadratic
    /// in it takes tens of minutes for 3 MB). The bound is generous so a busy machine cannot fail it; a quadratic
    /// counter misses it by far.
    /// </summary>
    [Theory]
    [InlineData(TokenizerFamily.O200k)]
    [InlineData(TokenizerFamily.Cl100k)]
    [InlineData(TokenizerFamily.Claude)]
    public void A_3_MB_run_of_one_character_is_counted_in_linear_time(TokenizerFamily family)
    {
        using var counter = new PromptTokenCounter();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var huge = counter.Count(family, [new(new string('a', 3_000_000), 0)]);
        var underThreshold = counter.Count(family, [new(new string('a', (int)PromptTokenCounter.ExactCountMaxChars - 10), 0)]);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);

        Assert.InRange(huge, 3_000_000 / 8, 3_000_000);
        Assert.InRange(underThreshold, PromptTokenCounter.ExactCountMaxChars / 16, PromptTokenCounter.ExactCountMaxChars);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"counting took {elapsed}");
    }

    [Fact]
    public void Past_the_threshold_exact_families_use_the_heuristic()
    {
        using var counter = new PromptTokenCounter();
        var text = new string('a', (int)PromptTokenCounter.ExactCountMaxChars + 1);
        Assert.Equal(TokenEstimator.EstimatePrompt([new PromptPart(text, 0)]), counter.Count(TokenizerFamily.O200k, [new(text, 0)]));
        Assert.Equal((0, 0), (counter.CacheHits, counter.CacheMisses));
    }
}
