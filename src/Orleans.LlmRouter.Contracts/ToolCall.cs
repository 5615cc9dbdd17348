namespace Orleans.LlmRouter.Contracts;

/// <summary>A tool call the model asked for. <see cref="ArgumentsJson"/> is always a JSON object text.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ToolCall")]
public sealed record ToolCall(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ArgumentsJson);
