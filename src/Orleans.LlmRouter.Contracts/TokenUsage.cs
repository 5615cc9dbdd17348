namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Token usage, normalised across providers. <see cref="PromptTokens"/> is the whole prompt as billed (cache reads and
/// cache writes included); <see cref="CachedTokens"/> (read from the prompt cache) and <see cref="CacheWriteTokens"/>
/// (written to it, all TTLs; <see cref="CacheWrite1hTokens"/> is its one-hour part) are subsets of it.
/// <see cref="ReasoningTokens"/> is a subset of <see cref="CompletionTokens"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TokenUsage")]
public sealed record TokenUsage(
    [property: Id(0)] long PromptTokens,
    [property: Id(1)] long CompletionTokens,
    [property: Id(2)] long CachedTokens = 0,
    [property: Id(3)] long ReasoningTokens = 0,
    [property: Id(4)] long CacheWriteTokens = 0,
    [property: Id(5)] long CacheWrite1hTokens = 0)
{
    /// <summary>No usage.</summary>
    public static TokenUsage Zero { get; } = new(0, 0);

    /// <summary>
    /// True when the provider reported no usage and <see cref="CompletionTokens"/> (and possibly
    /// <see cref="PromptTokens"/>) were counted by the gateway from what it received.
    /// </summary>
    [Id(6)] public bool Estimated { get; init; }

    /// <summary>Prompt plus completion tokens.</summary>
    public long TotalTokens => PromptTokens + CompletionTokens;
}
