namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// Size limits of one request, enforced before routing on every surface (bound from <c>LlmRouter:Limits</c>). The
/// defaults fit every real workload we know of — OpenAI's own API allows 2,048 messages, 128 tools and 2,048 embedding
/// inputs — while bounding the memory and CPU one request can take: a 3 MB prompt is still answered.
/// </summary>
public sealed class RequestLimitsOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "LlmRouter:Limits";

    /// <summary>Largest HTTP request body, in bytes (default 16 MiB); a larger one is refused with 413 while it is read.</summary>
    public long MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Most messages in one chat request (default 2,048, as OpenAI).</summary>
    public int MaxMessages { get; set; } = 2_048;

    /// <summary>Most characters in one message (its text parts and tool-call arguments) or one embedding input (default 4,000,000).</summary>
    public int MaxCharactersPerMessage { get; set; } = 4_000_000;

    /// <summary>Most tool definitions in one request (default 128, as OpenAI).</summary>
    public int MaxTools { get; set; } = 128;

    /// <summary>Most images in one request, over all its messages (default 100).</summary>
    public int MaxImages { get; set; } = 100;

    /// <summary>Most inputs in one embeddings request (default 2,048, as OpenAI).</summary>
    public int MaxEmbeddingInputs { get; set; } = 2_048;
}
