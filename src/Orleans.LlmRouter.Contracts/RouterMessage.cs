namespace Orleans.LlmRouter.Contracts;

/// <summary>One chat message. Roles: system, developer, user, assistant, tool.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatMessage")]
public sealed record RouterMessage(
    [property: Id(0)] string Role,
    [property: Id(1)] IReadOnlyList<ContentPart> Content,
    [property: Id(2)] string? Name = null,
    [property: Id(3)] string? ToolCallId = null,
    [property: Id(4)] IReadOnlyList<ToolCall>? ToolCalls = null)
{
    /// <summary>Creates a message with a single text part.</summary>
    public static RouterMessage FromText(string role, string text) => new(role, [ContentPart.FromText(text)]);

    /// <summary>The concatenated text of all text parts.</summary>
    public string Text => Content.Count switch
    {
        0 => string.Empty,
        1 => Content[0].Text ?? string.Empty,
        _ => string.Concat(Content.Where(p => p.Kind == ContentPartKind.Text).Select(p => p.Text)),
    };
}
