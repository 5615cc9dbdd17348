using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.ML.Tokenizers;

namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>
/// Counts prompt tokens before a call, per tokenizer family: exactly with <c>Microsoft.ML.Tokenizers</c> for OpenAI-family
/// models (plus OpenAI's documented chat framing of 3 tokens per message and 3 for the reply), with the heuristics of
/// <see cref="TokenizerFamily"/> for the rest. Exact counts are cached in memory, keyed by family and a 128-bit hash of
/// the prompt, so a request estimated for several candidates (or retried) is tokenized once. Thread-safe.
/// </summary>
/// <remarks>
/// Work is linear in the prompt's size, whatever its content. BPE merging is quadratic in the length of one
/// pre-token (a 20,000-character run of one letter took 0.8 s, 80,000 took 4.5 s), so text reaches the tokenizer in
/// pieces of at most <see cref="MaxPieceChars"/> characters, cut where a whitespace run or a punctuation mark begins
/// (where the tokenizer's own pre-tokenizer would split anyway, so ordinary text counts as before) and hard-cut inside
/// longer runs. A prompt of more than <see cref="ExactCountMaxChars"/> characters is estimated with the heuristic
/// (<see cref="TokenEstimator"/>) instead: it errs high, and reservations are settled with the provider's real counts.
/// </remarks>
internal sealed class PromptTokenCounter : IDisposable
{
    /// <summary>Longest piece of text handed to the BPE tokenizer at once.</summary>
    public const int MaxPieceChars = 256;

    /// <summary>
    /// Prompts (message texts and tool definitions together) longer than this many characters are estimated with the
    /// heuristic even for exact families: about 250,000 tokens, more than most context windows.
    /// </summary>
    public const long ExactCountMaxChars = 1_000_000;

    private const int OpenAiPerMessage = 3;
    private const int OpenAiReplyPriming = 3;

    private static readonly Lazy<Tokenizer> O200kTokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100kTokenizer = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    private readonly MemoryCache _cache;
    private long _hits;
    private long _misses;

    public PromptTokenCounter(int maxEntries = 50_000) =>
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = maxEntries });

    /// <summary>Exact counts served from the cache.</summary>
    public long CacheHits => Interlocked.Read(ref _hits);

    /// <summary>Exact counts computed by a tokenizer.</summary>
    public long CacheMisses => Interlocked.Read(ref _misses);

    /// <summary>
    /// The family of a provider model: the one its provider type fixes (<paramref name="typeFamily"/>, from the type's
    /// registration), else by the model id: Claude ids (also Bedrock's <c>anthropic.claude-…</c>, with or without a
    /// region prefix), then OpenAI's o200k and cl100k ids, else the heuristic.
    /// </summary>
    public static TokenizerFamily FamilyOf(TokenizerFamily? typeFamily, string providerModel)
    {
        ArgumentNullException.ThrowIfNull(providerModel);
        if (typeFamily is { } fixedFamily)
        {
            return fixedFamily;
        }

        var id = providerModel.ToLowerInvariant();
        if (id.StartsWith("claude", StringComparison.Ordinal) || id.Contains("anthropic.claude", StringComparison.Ordinal))
        {
            return TokenizerFamily.Claude;
        }

        if (id.StartsWith("gpt-4o", StringComparison.Ordinal) || id.StartsWith("chatgpt-4o", StringComparison.Ordinal)
            || id.StartsWith("gpt-4.1", StringComparison.Ordinal) || id.StartsWith("gpt-4.5", StringComparison.Ordinal)
            || id.StartsWith("gpt-5", StringComparison.Ordinal) || id.StartsWith("o1", StringComparison.Ordinal)
            || id.StartsWith("o3", StringComparison.Ordinal) || id.StartsWith("o4", StringComparison.Ordinal)
            || id.StartsWith("gpt-oss", StringComparison.Ordinal))
        {
            return TokenizerFamily.O200k;
        }

        if (id.StartsWith("gpt-4", StringComparison.Ordinal) || id.StartsWith("gpt-3.5", StringComparison.Ordinal)
            || id.StartsWith("text-embedding-3", StringComparison.Ordinal) || id.StartsWith("text-embedding-ada", StringComparison.Ordinal))
        {
            return TokenizerFamily.Cl100k;
        }

        return TokenizerFamily.Heuristic;
    }

    /// <summary>Estimated prompt tokens of <paramref name="messages"/> plus <paramref name="extra"/> (tool definitions).</summary>
    public long Count(TokenizerFamily family, IReadOnlyList<PromptPart> messages, string? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        switch (family)
        {
            case TokenizerFamily.O200k or TokenizerFamily.Cl100k when TotalChars(messages, extra) > ExactCountMaxChars:
                return TokenEstimator.EstimatePrompt(messages, extra);

            case TokenizerFamily.O200k:
            case TokenizerFamily.Cl100k:
                var key = new CacheKey(family, Hash(messages, extra));
                if (_cache.TryGetValue(key, out long cached))
                {
                    Interlocked.Increment(ref _hits);
                    return cached;
                }

                Interlocked.Increment(ref _misses);
                var tokenizer = family == TokenizerFamily.O200k ? O200kTokenizer.Value : Cl100kTokenizer.Value;
                long total = OpenAiReplyPriming + Tokens(tokenizer, extra);
                foreach (var m in messages)
                {
                    total += OpenAiPerMessage + Tokens(tokenizer, m.Text) + ((long)m.Images * TokenEstimator.PerImage) + m.DocumentTokens;
                }

                _cache.Set(key, total, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(10) });
                return total;

            case TokenizerFamily.Claude:
                long claude = TokenEstimator.ReplyPriming + Dense(extra);
                foreach (var m in messages)
                {
                    claude += TokenEstimator.PerMessageOverhead + Dense(m.Text) + ((long)m.Images * TokenEstimator.PerImage) + m.DocumentTokens;
                }

                return claude;

            default:
                return TokenEstimator.EstimatePrompt(messages, extra);
        }
    }

    /// <summary>
    /// Tokens of a piece of generated text (no chat framing) as <paramref name="family"/> counts them: what a stream
    /// delivered when its provider reported no usage. Not cached (each reply is counted once).
    /// </summary>
    public long CountText(TokenizerFamily family, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return family switch
        {
            TokenizerFamily.O200k or TokenizerFamily.Cl100k =>
                Count(family, [new PromptPart(text, 0)]) - OpenAiPerMessage - OpenAiReplyPriming,
            TokenizerFamily.Claude => Dense(text),
            _ => TokenEstimator.EstimateText(text),
        };
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>Tokens of <paramref name="text"/>, counted piece by piece (<see cref="NextPieceLength"/>).</summary>
    internal static long Tokens(Tokenizer tokenizer, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        long total = 0;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var length = NextPieceLength(rest);
            total += tokenizer.CountTokens(rest[..length]);
            rest = rest[length..];
        }

        return total;
    }

    /// <summary>
    /// The length of the next piece of <paramref name="text"/>: all of it when short, else the longest prefix of at most
    /// <see cref="MaxPieceChars"/> characters that ends before a whitespace run, else before a punctuation mark or
    /// after one, else <see cref="MaxPieceChars"/> characters (never splitting a surrogate pair). Looks at most
    /// <see cref="MaxPieceChars"/> characters back, so cutting a text is linear in its length.
    /// </summary>
    internal static int NextPieceLength(ReadOnlySpan<char> text)
    {
        if (text.Length <= MaxPieceChars)
        {
            return text.Length;
        }

        // A cut at i makes text[i] the first character of the next piece.
        for (var i = MaxPieceChars; i > 0; i--)
        {
            if (char.IsWhiteSpace(text[i]) && !char.IsWhiteSpace(text[i - 1]))
            {
                return i;
            }
        }

        for (var i = MaxPieceChars; i > 0; i--)
        {
            if (IsPunctuation(text[i]) != IsPunctuation(text[i - 1]) && !char.IsWhiteSpace(text[i]) && !char.IsWhiteSpace(text[i - 1]))
            {
                return i;
            }
        }

        return char.IsHighSurrogate(text[MaxPieceChars - 1]) ? MaxPieceChars - 1 : MaxPieceChars;
    }

    private static bool IsPunctuation(char c) => char.IsPunctuation(c) || char.IsSymbol(c);

    private static long TotalChars(IReadOnlyList<PromptPart> messages, string? extra)
    {
        long total = extra?.Length ?? 0;
        foreach (var m in messages)
        {
            total += m.Text?.Length ?? 0;
        }

        return total;
    }

    /// <summary>Characters / 3.5, rounded up.</summary>
    private static long Dense(string? text) => string.IsNullOrEmpty(text) ? 0 : ((text.Length * 2L) + 6) / 7;

    private static UInt128 Hash(IReadOnlyList<PromptPart> messages, string? extra)
    {
        var hash = new XxHash128();
        Span<byte> separator = stackalloc byte[8];
        foreach (var m in messages)
        {
            hash.Append(MemoryMarshal.AsBytes((m.Text ?? string.Empty).AsSpan()));
            BitConverter.TryWriteBytes(separator, ((long)m.Images << 32) | (uint)(m.Text?.Length ?? -1));
            hash.Append(separator); // lengths keep ["ab","c"] and ["a","bc"] apart
            BitConverter.TryWriteBytes(separator, m.DocumentTokens);
            hash.Append(separator);
        }

        hash.Append(MemoryMarshal.AsBytes((extra ?? string.Empty).AsSpan()));
        return hash.GetCurrentHashAsUInt128();
    }

    private readonly record struct CacheKey(TokenizerFamily Family, UInt128 Hash);
}
