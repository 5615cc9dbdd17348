namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Embedding vectors in input order, with the prompt tokens billed.</summary>
public sealed record EmbeddingResponse(IReadOnlyList<float[]> Vectors, long PromptTokens);
