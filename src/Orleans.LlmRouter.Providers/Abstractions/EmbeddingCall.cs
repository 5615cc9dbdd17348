using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>An embeddings call.</summary>
public sealed record EmbeddingCall(IReadOnlyList<string> Inputs, ModelDefinition Model, ProviderDefinition Provider, int? Dimensions = null);
