using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// A Responses API body: the request model's options with the new input as <see cref="ChatRequest.Messages"/>
/// (<see cref="Template"/>; the endpoint puts the instructions and a previous response's conversation in front),
/// the fields the response object echoes, and one warning per parameter accepted but not honoured.
/// </summary>
internal sealed record ParsedResponsesRequest(ChatRequest Template, string Model, bool Stream, IReadOnlyList<string> Warnings)
{
    public string? Instructions { get; init; }

    public string? PreviousResponseId { get; init; }

    /// <summary>False when the caller asked not to keep the response (<c>store: false</c>).</summary>
    public bool Store { get; init; } = true;

    public bool ParallelToolCalls { get; init; } = true;

    public string? ReasoningEffort { get; init; }

    /// <summary>The <c>{"type":"mcp"}</c> tools: gateway MCP servers the gateway runs in the loop for the model.</summary>
    public IReadOnlyList<McpToolRequest> McpTools { get; init; } = [];

    /// <summary>The <c>mcp_approval_response</c> input items, in order.</summary>
    public IReadOnlyList<McpApprovalDecision> McpApprovals { get; init; } = [];

    /// <summary>
    /// <c>tool_choice</c> <c>{"type":"mcp","server_label","name"}</c>: the namespaced tool (<c>server__tool</c>) the model
    /// must call first, or <c>required</c> without a name; applied to the first model turn only.
    /// </summary>
    public string? McpToolChoice { get; init; }
}
