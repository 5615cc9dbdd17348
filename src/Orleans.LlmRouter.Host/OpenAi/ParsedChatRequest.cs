using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The parts of an OpenAI chat request that are about the call rather than the conversation.</summary>
internal sealed record ParsedChatRequest(ChatRequest Request, string? Model, bool Stream, bool IncludeUsage);
