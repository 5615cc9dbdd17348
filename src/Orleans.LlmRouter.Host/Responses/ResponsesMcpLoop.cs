using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Mcp;
using Orleans.LlmRouter.Host.Mcp;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// Runs the gateway's MCP tools of a Responses request (<c>{"type":"mcp","server_label":…}</c>) in the loop: lists each
/// named server's tools through <see cref="McpGateway"/> (the key's allow-list, then <c>allowed_tools</c>), offers them
/// to the model as functions named <c>server__tool</c>, executes the model's calls through <see cref="McpGateway"/>
/// (allow-list, breaker, rpm, price reserved and settled, one ledger row <c>kind = tool_call</c>, exactly as on
/// <c>/mcp</c>), feeds the results back and asks the model again, for at most <see cref="MaxRounds"/> model turns.
/// A call that needs approval (<c>require_approval</c>) ends the response with an <c>mcp_approval_request</c>; the
/// client's <c>mcp_approval_response</c> (with <c>previous_response_id</c> or the request item inline) makes the call
/// or refuses it before the model is asked again. A model's call of one of the request's own function tools ends
/// the response with its <c>function_call</c>, as without MCP tools.
/// </summary>
internal static class ResponsesMcpLoop
{
    /// <summary>Model turns one response may take; a model still calling tools after them ends the response <c>incomplete</c> (<c>max_tool_calls</c>).</summary>
    public const int MaxRounds = 8;

    /// <summary>The id prefix of an approval request; a model call stored under such an id waits for the client's answer.</summary>
    public const string ApprovalPrefix = "mcpr_";

    /// <summary>What the model is told for a call the client denied or left unanswered.</summary>
    public const string NotApproved = "The user did not approve this tool call; it was not made.";

    /// <summary>What a request with MCP tools produced: its output items, the conversation to store, and the model turns' sums.</summary>
    internal sealed record Outcome(
        IReadOnlyList<ResponseOutputItem> Output, IReadOnlyList<RouterMessage> Conversation, ChatCompletion Last, TokenUsage Usage,
        decimal CostUsd, int Attempts, double UpstreamMs, string Status, string? IncompleteReason);

    private sealed record Server(McpToolRequest Request, IReadOnlyList<Tool> Tools);

    /// <summary>
    /// Runs the loop. <paramref name="conversation"/> (a stored conversation and the new input, without instructions)
    /// grows by what happened; <paramref name="complete"/> asks the model once (its second argument is the turn).
    /// A server that cannot be used fails the request with <see cref="McpToolsRefusedException"/>; a call that cannot
    /// be made (outside <c>allowed_tools</c>, refused by the gateway, failed upstream) is an <c>mcp_call</c> with an error.
    /// </summary>
    public static async Task<Outcome> RunAsync(
        ParsedResponsesRequest parsed, ChatRequest request, TenantDefinition tenant, List<RouterMessage> conversation, string requestId,
        McpGateway gateway, Func<ChatRequest, int, Task<ChatCompletion>> complete, CancellationToken cancellationToken)
    {
        var access = McpGateway.AccessOf(tenant);
        var output = new List<ResponseOutputItem>();
        var servers = new Dictionary<string, Server>(StringComparer.Ordinal);
        var functions = new List<ToolDefinition>();
        foreach (var mcp in parsed.McpTools)
        {
            IReadOnlyList<Tool> listed;
            try
            {
                listed = await gateway.ServerToolsAsync(access, mcp.ServerLabel, cancellationToken);
            }
            catch (McpProtocolException ex)
            {
                throw McpToolsRefusedException.From(ex, mcp);
            }

            var offered = listed.Where(t => mcp.Allows(t.Name, t.Annotations?.ReadOnlyHint == true)).ToList();
            servers[mcp.ServerLabel] = new Server(mcp, offered);
            output.Add(new ResponseOutputItem($"mcpl_{requestId}_{output.Count}", null, null)
            {
                Mcp = new McpOutput(McpOutput.ListTools, mcp.ServerLabel)
                {
                    Tools = offered.Select(t => new McpListedTool(t.Name, t.Description, t.InputSchema.GetRawText(),
                        t.Annotations is null ? null : JsonSerializer.Serialize(t.Annotations, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ToolAnnotations))))).ToList(),
                },
            });
            foreach (var tool in offered)
            {
                var name = McpToolNames.Namespaced(mcp.ServerLabel, tool.Name);
                if (request.Tools?.Any(t => t.Name == name) == true)
                {
                    throw new InvalidRequestException("tools", $"Function tool '{name}' has the name the gateway gives tool '{tool.Name}' of MCP server '{mcp.ServerLabel}'; rename the function.");
                }

                functions.Add(new ToolDefinition(name, tool.Description, tool.InputSchema.GetRawText()));
            }
        }

        var calls = 0;
        async Task<(ResponseOutputItem Item, RouterMessage Result)> ExecuteAsync(ToolCall call, string? approvalId)
        {
            McpToolNames.TrySplit(call.Name, out var label, out var tool);
            var server = servers[label];
            var item = new McpOutput(McpOutput.Call, label) { Name = tool, Arguments = call.ArgumentsJson, ApprovalRequestId = approvalId };
            item = await CallAsync(item, server, call, tenant.Id, access, gateway, cancellationToken);
            var result = new RouterMessage("tool", [ContentPart.FromText(item.Error is { } error ? "Error: " + error : item.Output ?? string.Empty)], ToolCallId: call.Id);
            return (new ResponseOutputItem($"mcp_{requestId}_{calls++}", null, null) { Mcp = item }, result);
        }

        // The client's answers to a previous response's approval requests: the call is made or refused first.
        foreach (var decision in parsed.McpApprovals)
        {
            var at = conversation.FindIndex(m => m.Role == "assistant" && m.ToolCalls?.Any(c => c.Id == decision.ApprovalRequestId) == true);
            if (at < 0)
            {
                throw new InvalidRequestException($"{decision.Param}.approval_request_id", $"No mcp_approval_request '{decision.ApprovalRequestId}' in this conversation: continue its response with previous_response_id, or pass the mcp_approval_request item in input.");
            }

            if (conversation.Any(m => m.Role == "tool" && m.ToolCallId == decision.ApprovalRequestId))
            {
                throw new InvalidRequestException($"{decision.Param}.approval_request_id", $"mcp_approval_request '{decision.ApprovalRequestId}' has already been answered.");
            }

            var call = conversation[at].ToolCalls!.First(c => c.Id == decision.ApprovalRequestId);
            var insertAt = at + 1;
            while (insertAt < conversation.Count && conversation[insertAt].Role == "tool")
            {
                insertAt++;
            }

            if (!decision.Approve)
            {
                conversation.Insert(insertAt, new RouterMessage("tool", [ContentPart.FromText(decision.Reason is { Length: > 0 } why ? $"{NotApproved} Reason: {why}" : NotApproved)], ToolCallId: call.Id));
                continue;
            }

            if (!McpToolNames.TrySplit(call.Name, out var label, out _) || !servers.ContainsKey(label))
            {
                throw new InvalidRequestException($"{decision.Param}.approval_request_id", $"mcp_approval_request '{decision.ApprovalRequestId}' calls MCP server '{label}', which no tool of type 'mcp' in this request names.");
            }

            var (item, result) = await ExecuteAsync(call, decision.ApprovalRequestId);
            output.Add(item);
            conversation.Insert(insertAt, result);
        }

        CloseUnanswered(conversation);

        List<RouterMessage> prefix = parsed.Instructions is { Length: > 0 } instructions ? [RouterMessage.FromText("system", instructions)] : [];
        var usage = TokenUsage.Zero;
        decimal cost = 0;
        var attempts = 0;
        double upstreamMs = 0;
        ChatCompletion? last = null;
        var texts = 0;
        for (var round = 0; round < MaxRounds; round++)
        {
            var turn = request with
            {
                Messages = [.. prefix, .. conversation],
                Tools = [.. request.Tools ?? [], .. functions],
                ToolChoice = round == 0 && parsed.McpToolChoice is { } forced ? forced : request.ToolChoice,
            };
            var completion = last = await complete(turn, round);
            usage = Add(usage, completion.Usage);
            cost += completion.CostUsd;
            attempts += completion.Attempts.Count;
            upstreamMs += completion.Attempts.Sum(a => a.LatencyMs);
            var message = completion.Message;
            if (message.Text.Length > 0 || message.ToolCalls is not { Count: > 0 })
            {
                output.Add(new ResponseOutputItem(texts++ == 0 ? "msg_" + requestId : $"msg_{requestId}_{texts}", message.Text, null));
            }

            if (message.ToolCalls is not { Count: > 0 } toolCalls)
            {
                conversation.Add(message);
                var (status, reason) = ResponseSnapshot.StatusOf(completion.FinishReason);
                return new Outcome(output, conversation, completion, usage, cost, attempts, upstreamMs, status, reason);
            }

            var asked = new List<ToolCall>(toolCalls.Count);
            var results = new List<RouterMessage>();
            var waits = false;
            foreach (var call in toolCalls)
            {
                if (!McpToolNames.TrySplit(call.Name, out var label, out var tool) || !servers.TryGetValue(label, out var server))
                {
                    asked.Add(call); // one of the request's own functions: the client runs it
                    output.Add(new ResponseOutputItem($"fc_{requestId}_{output.Count}", null, call));
                    waits = true;
                }
                else if (server.Request.Approval.Requires(tool))
                {
                    var id = $"{ApprovalPrefix}{requestId}_{output.Count}";
                    asked.Add(call with { Id = id });
                    output.Add(new ResponseOutputItem(id, null, null) { Mcp = new McpOutput(McpOutput.ApprovalRequest, label) { Name = tool, Arguments = call.ArgumentsJson } });
                    waits = true;
                }
                else
                {
                    asked.Add(call);
                    var (item, result) = await ExecuteAsync(call, null);
                    output.Add(item);
                    results.Add(result);
                }
            }

            conversation.Add(message with { ToolCalls = asked });
            conversation.AddRange(results);
            if (waits)
            {
                return new Outcome(output, conversation, completion, usage, cost, attempts, upstreamMs, "completed", null);
            }
        }

        return new Outcome(output, conversation, last!, usage, cost, attempts, upstreamMs, "incomplete", "max_tool_calls");
    }

    /// <summary>
    /// Gives every approval request of <paramref name="conversation"/> that the client did not answer a result saying
    /// it was not approved, so the conversation stays valid for any provider (each call followed by its result).
    /// </summary>
    public static void CloseUnanswered(List<RouterMessage> conversation)
    {
        for (var i = 0; i < conversation.Count; i++)
        {
            if (conversation[i] is not { Role: "assistant", ToolCalls: { Count: > 0 } toolCalls })
            {
                continue;
            }

            var end = i + 1;
            while (end < conversation.Count && conversation[end].Role == "tool")
            {
                end++;
            }

            foreach (var call in toolCalls.Where(c => c.Id.StartsWith(ApprovalPrefix, StringComparison.Ordinal)))
            {
                if (!conversation.Any(m => m.Role == "tool" && m.ToolCallId == call.Id))
                {
                    conversation.Insert(end++, new RouterMessage("tool", [ContentPart.FromText(NotApproved)], ToolCallId: call.Id));
                }
            }
        }
    }

    private static async Task<McpOutput> CallAsync(McpOutput item, Server server, ToolCall call, string tenantId, McpAccess access, McpGateway gateway, CancellationToken cancellationToken)
    {
        var tool = item.Name!;
        if (!server.Tools.Any(t => t.Name == tool))
        {
            return item with { Error = $"Tool '{tool}' is not available on MCP server '{item.ServerLabel}' for this request (not listed by the server, outside allowed_tools, or outside this key's allow-list); it was not called." };
        }

        Dictionary<string, JsonElement> arguments;
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.ArgumentsJson) ? "{}" : call.ArgumentsJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return item with { Error = "The model's arguments are not a JSON object; the tool was not called." };
            }

            arguments = doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            return item with { Error = "The model's arguments are not valid JSON; the tool was not called." };
        }

        CallToolResult result;
        try
        {
            result = await gateway.CallToolAsync(tenantId, access, new CallToolRequestParams { Name = call.Name, Arguments = arguments }, cancellationToken);
        }
        catch (McpProtocolException ex)
        {
            // Refused by the gateway (budget, rpm, breaker, allow-list) or failed upstream: the error, in MCP's words and code.
            return item with { Error = string.Create(CultureInfo.InvariantCulture, $"{ex.Message} (MCP error {(int)ex.ErrorCode})") };
        }

        var text = TextOf(result);
        return result.IsError == true ? item with { Error = text.Length > 0 ? text : "The tool reported an error." } : item with { Output = text };
    }

    /// <summary>A tool result as text: its text blocks, else its structured content, else a note per other block.</summary>
    private static string TextOf(CallToolResult result)
    {
        var sb = new StringBuilder();
        foreach (var block in result.Content)
        {
            if (sb.Length > 0)
            {
                sb.Append('\n');
            }

            sb.Append(block is TextContentBlock text ? text.Text : $"[{block.Type} content]");
        }

        if (sb.Length == 0 && result.StructuredContent is { } structured)
        {
            sb.Append(structured.GetRawText());
        }

        return sb.ToString();
    }

    private static TokenUsage Add(TokenUsage a, TokenUsage b) => new(
        a.PromptTokens + b.PromptTokens, a.CompletionTokens + b.CompletionTokens, a.CachedTokens + b.CachedTokens,
        a.ReasoningTokens + b.ReasoningTokens, a.CacheWriteTokens + b.CacheWriteTokens, a.CacheWrite1hTokens + b.CacheWrite1hTokens)
    {
        Estimated = a.Estimated || b.Estimated,
    };
}

/// <summary>
/// A server of a request's MCP tools cannot be used, so the request fails before the model is asked: 400
/// <c>mcp_server_not_found</c> (not in the catalog), 403 <c>mcp_server_forbidden</c> (outside the key's allow-list),
/// 424 <c>mcp_list_tools_failed</c> (disabled, breaker or listing failed upstream: OpenAI's status when a remote MCP
/// server cannot list its tools).
/// </summary>
internal sealed class McpToolsRefusedException : Exception
{
    public McpToolsRefusedException()
    {
    }

    public McpToolsRefusedException(string message)
        : base(message)
    {
    }

    public McpToolsRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private McpToolsRefusedException(int status, string type, string code, string param, string message)
        : base(message) => (Status, Type, Code, Param) = (status, type, code, param);

    public int Status { get; }

    public string Type { get; } = "invalid_request_error";

    public string Code { get; } = "invalid_request";

    public string? Param { get; }

    public static McpToolsRefusedException From(McpProtocolException ex, McpToolRequest tool) => ex.ErrorCode switch
    {
        McpErrorCode.InvalidParams => new(StatusCodes.Status400BadRequest, "invalid_request_error", "mcp_server_not_found", tool.Param + ".server_label", ex.Message),
        McpGatewayErrors.Forbidden => new(StatusCodes.Status403Forbidden, "permission_error", "mcp_server_forbidden", tool.Param + ".server_label", ex.Message),
        _ => new(StatusCodes.Status424FailedDependency, "external_connector_error", "mcp_list_tools_failed", tool.Param, ex.Message),
    };
}
