namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// A <c>{"type":"mcp"}</c> tool of a Responses request: the gateway MCP server it names (<c>server_label</c> is a
/// catalog server id), the tools the caller lets the model use (<c>allowed_tools</c>, a list of names or
/// <c>{"tool_names":[…],"read_only":…}</c>; null for all the key may use) and when a call needs the client's approval
/// (<c>require_approval</c>). <see cref="Param"/> is where it sits in the body, for errors.
/// </summary>
internal sealed record McpToolRequest(string ServerLabel, IReadOnlySet<string>? AllowedTools, bool ReadOnly, McpApprovalPolicy Approval, string Param)
{
    /// <summary>True when <paramref name="tool"/> (its own name, not namespaced) is within <see cref="AllowedTools"/>.</summary>
    public bool Allows(string tool, bool readOnlyHint) => (AllowedTools is null || AllowedTools.Contains(tool)) && (!ReadOnly || readOnlyHint);
}

/// <summary>
/// <c>require_approval</c> as OpenAI documents it: <c>"always"</c> (the default), <c>"never"</c>, or
/// <c>{"always":{"tool_names":[…]},"never":{"tool_names":[…]}}</c> (a tool in neither list needs approval).
/// </summary>
internal sealed record McpApprovalPolicy(bool Default, IReadOnlySet<string> Always, IReadOnlySet<string> Never)
{
    public static McpApprovalPolicy AlwaysRequired { get; } = new(true, new HashSet<string>(), new HashSet<string>());

    public static McpApprovalPolicy NeverRequired { get; } = new(false, new HashSet<string>(), new HashSet<string>());

    /// <summary>True when a call of <paramref name="tool"/> must be approved by the client first.</summary>
    public bool Requires(string tool) => Always.Contains(tool) || (!Never.Contains(tool) && Default);
}

/// <summary>An <c>mcp_approval_response</c> input item: the client's answer to an <c>mcp_approval_request</c>.</summary>
internal sealed record McpApprovalDecision(string ApprovalRequestId, bool Approve, string? Reason, string Param);
