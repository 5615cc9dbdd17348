using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>A provider's non-streaming answer, already normalised.</summary>
public sealed record ProviderResponse(RouterMessage Message, string FinishReason, TokenUsage Usage, string? UpstreamId = null);
