using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>One call to one provider model.</summary>
public sealed record ProviderCall(ChatRequest Request, ModelDefinition Model, ProviderDefinition Provider);
