namespace Orleans.LlmRouter.Contracts;

/// <summary>Texts to embed.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.EmbeddingRequest")]
public sealed record EmbeddingRequest(
    [property: Id(0)] IReadOnlyList<string> Inputs,
    [property: Id(1)] int? Dimensions = null);
