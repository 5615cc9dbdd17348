namespace Orleans.LlmRouter.Contracts;

/// <summary>A function the model may call. <see cref="ParametersJson"/> is a JSON schema text.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ToolDefinition")]
public sealed record ToolDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] string? ParametersJson,
    [property: Id(3)] bool Strict = false)
{
    /// <summary>A prompt-cache breakpoint after this tool definition (see <see cref="ContentPart.CacheControlJson"/>).</summary>
    [Id(4)] public string? CacheControlJson { get; init; }
}
