using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>
/// An Anthropic Messages body as the router takes it: the one request model, the model name as sent, whether to
/// stream, and one warning per parameter accepted but not honoured (sent back as <c>X-LlmRouter-Warning</c>).
/// </summary>
internal sealed record ParsedAnthropicRequest(ChatRequest Request, string Model, bool Stream, IReadOnlyList<string> Warnings)
{
    /// <summary>True when the body holds <c>cache_control</c> breakpoints (passed on to Anthropic models only).</summary>
    public bool CacheControl { get; init; }
}
