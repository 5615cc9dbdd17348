namespace Orleans.LlmRouter.Contracts;

/// <summary>The response format a caller asked for.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ResponseFormat")]
public sealed record ResponseFormat(
    [property: Id(0)] ResponseFormatKind Kind,
    [property: Id(1)] string? SchemaName = null,
    [property: Id(2)] string? SchemaJson = null,
    [property: Id(3)] bool Strict = false);
