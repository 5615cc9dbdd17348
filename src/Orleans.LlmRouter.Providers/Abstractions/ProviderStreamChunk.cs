using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// One normalised streaming chunk. The last one carries <see cref="FinishReason"/> and <see cref="Usage"/>; its usage is
/// null when the provider reported none (an OpenAI-compatible server that sends no usage chunk), so the caller can
/// tell a reported zero from a missing count. A stream that fails throws a <see cref="ProviderException"/> after the
/// chunks that came before the failure.
/// </summary>
public sealed record ProviderStreamChunk(string? TextDelta = null, IReadOnlyList<ToolCall>? ToolCalls = null, string? FinishReason = null, TokenUsage? Usage = null);
