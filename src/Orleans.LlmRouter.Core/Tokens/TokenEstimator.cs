namespace Orleans.LlmRouter.Core.Tokens;

/// <summary>
/// Heuristic prompt-token estimate used before a call (for reservations and context checks).
/// About four characters of text per token, rounded up, plus a per-message framing overhead, a fixed
/// charge per image and the pages of each document (<see cref="DocumentTokens"/>). Deliberately errs high:
/// reservations are settled with the provider's real counts.
/// </summary>
internal static class TokenEstimator
{
    /// <summary>Tokens charged per message for role and framing.</summary>
    public const int PerMessageOverhead = 4;

    /// <summary>Tokens charged per image (a high-detail tile budget).</summary>
    public const int PerImage = 1_105;

    /// <summary>Tokens for a priming reply header.</summary>
    public const int ReplyPriming = 3;

    public static long EstimateText(string? text) => string.IsNullOrEmpty(text) ? 0 : (text.Length + 3) / 4;

    /// <summary>Estimates a whole prompt from its messages' text lengths, image counts and document tokens.</summary>
    public static long EstimatePrompt(IEnumerable<PromptPart> messages, string? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long total = ReplyPriming + EstimateText(extra);
        foreach (var m in messages)
        {
            total += PerMessageOverhead + EstimateText(m.Text) + ((long)m.Images * PerImage) + m.DocumentTokens;
        }

        return total;
    }
}
