namespace Orleans.LlmRouter.Contracts;

/// <summary>Embedding vectors in input order, with what they cost.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.EmbeddingResult")]
public sealed record EmbeddingResult(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] IReadOnlyList<float[]> Vectors,
    [property: Id(3)] TokenUsage Usage,
    [property: Id(4)] decimal CostUsd,
    [property: Id(5)] IReadOnlyList<AttemptRecord> Attempts)
{
    /// <summary>The deployment that answered, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(6)] public string? Deployment { get; init; }
}
