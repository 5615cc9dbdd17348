using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// One item of a response's <c>output</c>: an assistant <c>message</c> with its text, a <c>function_call</c>, or an
/// MCP item of a gateway tool (<see cref="Mcp"/>: <c>mcp_list_tools</c>, <c>mcp_call</c>, <c>mcp_approval_request</c>).
/// </summary>
internal sealed record ResponseOutputItem(string Id, string? Text, ToolCall? Call)
{
    /// <summary>The MCP item this is, or null for a message or function call.</summary>
    public McpOutput? Mcp { get; init; }

    public static IReadOnlyList<ResponseOutputItem> From(string requestId, RouterMessage message)
    {
        var items = new List<ResponseOutputItem>();
        if (message.Text.Length > 0 || message.ToolCalls is not { Count: > 0 })
        {
            items.Add(new("msg_" + requestId, message.Text, null));
        }

        var i = 0;
        foreach (var call in message.ToolCalls ?? [])
        {
            items.Add(new($"fc_{requestId}_{i++}", null, call));
        }

        return items;
    }
}

/// <summary>
/// An MCP output item as OpenAI documents it: <see cref="Type"/> is <c>mcp_list_tools</c> (<see cref="Tools"/>, or
/// <see cref="Error"/> when the server could not list), <c>mcp_call</c> (<see cref="Name"/>, <see cref="Arguments"/>,
/// <see cref="Output"/> or <see cref="Error"/>, <see cref="ApprovalRequestId"/> when it was approved) or
/// <c>mcp_approval_request</c> (<see cref="Name"/>, <see cref="Arguments"/>; its item id is what the client approves).
/// </summary>
internal sealed record McpOutput(string Type, string ServerLabel)
{
    public const string ListTools = "mcp_list_tools";
    public const string Call = "mcp_call";
    public const string ApprovalRequest = "mcp_approval_request";

    public string? Name { get; init; }

    public string? Arguments { get; init; }

    public string? Output { get; init; }

    public string? Error { get; init; }

    public string? ApprovalRequestId { get; init; }

    public IReadOnlyList<McpListedTool>? Tools { get; init; }
}

/// <summary>A tool in an <c>mcp_list_tools</c> item: its own name (not namespaced), description, input schema and MCP annotations as JSON.</summary>
internal sealed record McpListedTool(string Name, string? Description, string InputSchemaJson, string? AnnotationsJson);
