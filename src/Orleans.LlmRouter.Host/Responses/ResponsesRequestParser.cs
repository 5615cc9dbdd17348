using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;
using static Orleans.LlmRouter.Host.Surfaces.SurfaceJson;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// Parses a Responses API body (<c>POST /v1/responses</c>) into the one request model: <c>input</c> as a string or
/// items (<c>message</c> with <c>input_text</c>/<c>input_image</c>/<c>output_text</c> parts, <c>function_call</c>,
/// <c>function_call_output</c>, <c>mcp_approval_request</c>, <c>mcp_call</c>, <c>mcp_approval_response</c>; <c>reasoning</c>
/// and <c>mcp_list_tools</c> items passed back are dropped), <c>instructions</c>, function <c>tools</c> and <c>mcp</c>
/// tools naming gateway MCP servers (<see cref="McpToolRequest"/>, run by <see cref="ResponsesMcpLoop"/>), <c>tool_choice</c>, <c>text.format</c>, <c>max_output_tokens</c>, <c>temperature</c>, <c>top_p</c>,
/// <c>metadata</c>, <c>user</c>, <c>store</c>, <c>previous_response_id</c>, <c>stream</c>. Shape errors name the field
/// and are 400s in the OpenAI shape; built-in tools are accepted and listed as warnings;
/// <c>reasoning.effort</c> reaches models with the <c>reasoning</c> capability.
/// </summary>
internal static class ResponsesRequestParser
{
    public static ParsedResponsesRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(null, "The request body must be a JSON object.");
        }

        var warnings = new List<string>();
        var model = OptionalString(root, "model", "model") ?? throw new InvalidRequestException("model", "Missing required parameter: 'model'.");
        var approvals = new List<McpApprovalDecision>();
        var messages = ParseInput(root, approvals);
        var previous = OptionalString(root, "previous_response_id", "previous_response_id");
        if (messages.Count == 0 && approvals.Count == 0 && previous is null)
        {
            throw new InvalidRequestException("input", "Missing required parameter: 'input'.");
        }

        string? effort = null;
        if (root.TryGetProperty("reasoning", out var reasoning) && reasoning.ValueKind == JsonValueKind.Object)
        {
            effort = OptionalString(reasoning, "effort", "reasoning.effort");
            if (effort is not null and not ("minimal" or "low" or "medium" or "high" or "none"))
            {
                throw new InvalidRequestException("reasoning.effort", $"Invalid value '{effort}' for 'reasoning.effort': expected minimal, low, medium or high.");
            }
        }

        var mcpTools = new List<McpToolRequest>();
        var template = new ChatRequest(messages)
        {
            Temperature = OptionalNumber(root, "temperature", 0, 2),
            TopP = OptionalNumber(root, "top_p", 0, 1),
            MaxOutputTokens = OptionalInt(root, "max_output_tokens", 1),
            ResponseFormat = ParseTextFormat(root),
            Tools = ParseTools(root, warnings, mcpTools),
            ToolChoice = ParseToolChoice(root, warnings, out var mcpChoice),
            User = OptionalString(root, "user", "user") ?? OptionalString(root, "safety_identifier", "safety_identifier"),
            Metadata = Surfaces.SurfaceJson.Metadata(root),
            ReasoningEffort = effort,
        };

        return new ParsedResponsesRequest(template, model, OptionalBool(root, "stream", "stream") ?? false, warnings)
        {
            Instructions = OptionalString(root, "instructions", "instructions"),
            PreviousResponseId = previous,
            Store = OptionalBool(root, "store", "store") ?? true,
            ParallelToolCalls = OptionalBool(root, "parallel_tool_calls", "parallel_tool_calls") ?? true,
            ReasoningEffort = effort,
            McpTools = mcpTools,
            McpApprovals = approvals,
            McpToolChoice = mcpChoice is null ? null : ValidateMcpChoice(mcpChoice, mcpTools),
        };
    }

    private static List<RouterMessage> ParseInput(JsonElement root, List<McpApprovalDecision> approvals)
    {
        var messages = new List<RouterMessage>();
        if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
        {
            return messages;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            messages.Add(RouterMessage.FromText("user", input.GetString()!));
            return messages;
        }

        if (input.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("input", "'input' must be a string or an array of input items.");
        }

        var i = 0;
        foreach (var item in input.EnumerateArray())
        {
            var path = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException(path, $"'{path}' must be an object.");
            }

            var type = OptionalString(item, "type", $"{path}.type") ?? (item.TryGetProperty("role", out _) ? "message" : null);
            switch (type)
            {
                case "message":
                    messages.Add(ParseMessage(item, path));
                    break;
                case "function_call":
                    var call = new ToolCall(
                        OptionalString(item, "call_id", $"{path}.call_id") ?? throw new InvalidRequestException($"{path}.call_id", $"Missing required parameter: '{path}.call_id'."),
                        OptionalString(item, "name", $"{path}.name") ?? throw new InvalidRequestException($"{path}.name", $"Missing required parameter: '{path}.name'."),
                        OptionalString(item, "arguments", $"{path}.arguments") ?? "{}");

                    // Calls of one turn belong to one assistant message (after its text, if any).
                    if (messages.Count > 0 && messages[^1].Role == "assistant")
                    {
                        var last = messages[^1];
                        messages[^1] = last with { ToolCalls = [.. last.ToolCalls ?? [], call] };
                    }
                    else
                    {
                        messages.Add(new RouterMessage("assistant", [], ToolCalls: [call]));
                    }

                    break;
                case "function_call_output":
                    var callId = OptionalString(item, "call_id", $"{path}.call_id") ?? throw new InvalidRequestException($"{path}.call_id", $"Missing required parameter: '{path}.call_id'.");
                    messages.Add(new RouterMessage("tool", [ContentPart.FromText(OutputText(item, path))], ToolCallId: callId));
                    break;
                case "reasoning" or "mcp_list_tools":
                    break; // passed back by clients that keep the conversation themselves; not forwarded (MCP tools are listed again)
                case "mcp_approval_request" or "mcp_call":
                    ParseMcpItem(item, path, type, messages);
                    break;
                case "mcp_approval_response":
                    approvals.Add(new McpApprovalDecision(
                        OptionalString(item, "approval_request_id", $"{path}.approval_request_id") ?? throw new InvalidRequestException($"{path}.approval_request_id", $"Missing required parameter: '{path}.approval_request_id'."),
                        OptionalBool(item, "approve", $"{path}.approve") ?? throw new InvalidRequestException($"{path}.approve", $"Missing required parameter: '{path}.approve'."),
                        OptionalString(item, "reason", $"{path}.reason"),
                        path));
                    break;
                case var other:
                    throw new InvalidRequestException($"{path}.type", $"Invalid input item type '{other}' at '{path}': expected message, function_call, function_call_output, reasoning, mcp_list_tools, mcp_approval_request, mcp_approval_response or mcp_call.");
            }
        }

        return messages;
    }

    /// <summary>
    /// An <c>mcp_approval_request</c> or <c>mcp_call</c> passed back inline: the model's call of <c>server__tool</c> (its id
    /// the item's), and for a call its output or error as the tool's result, as a previous response stored them.
    /// </summary>
    private static void ParseMcpItem(JsonElement item, string path, string type, List<RouterMessage> messages)
    {
        string Required(string name) => OptionalString(item, name, $"{path}.{name}") ?? throw new InvalidRequestException($"{path}.{name}", $"Missing required parameter: '{path}.{name}'.");
        var call = new ToolCall(Required("id"), Core.Mcp.McpToolNames.Namespaced(Required("server_label"), Required("name")), OptionalString(item, "arguments", $"{path}.arguments") ?? "{}");
        if (messages.Count > 0 && messages[^1].Role == "assistant")
        {
            var last = messages[^1];
            messages[^1] = last with { ToolCalls = [.. last.ToolCalls ?? [], call] };
        }
        else
        {
            messages.Add(new RouterMessage("assistant", [], ToolCalls: [call]));
        }

        if (type == "mcp_call")
        {
            var error = item.TryGetProperty("error", out var e) && e.ValueKind != JsonValueKind.Null ? (e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()) : null;
            var output = OptionalString(item, "output", $"{path}.output");
            messages.Add(new RouterMessage("tool", [ContentPart.FromText(error is null ? output ?? string.Empty : "Error: " + error)], ToolCallId: call.Id));
        }
    }

    private static string OutputText(JsonElement item, string path)
    {
        if (!item.TryGetProperty("output", out var output))
        {
            throw new InvalidRequestException($"{path}.output", $"Missing required parameter: '{path}.output'.");
        }

        return output.ValueKind switch
        {
            JsonValueKind.String => output.GetString()!,
            JsonValueKind.Array => string.Join("\n", output.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Object ? OptionalString(p, "text", $"{path}.output.text") ?? string.Empty : string.Empty)),
            _ => throw new InvalidRequestException($"{path}.output", $"'{path}.output' must be a string or an array of content parts."),
        };
    }

    private static RouterMessage ParseMessage(JsonElement item, string path)
    {
        var role = OptionalString(item, "role", $"{path}.role");
        if (role is not ("user" or "assistant" or "system" or "developer"))
        {
            throw new InvalidRequestException($"{path}.role", $"Invalid value '{role}' for '{path}.role': expected user, assistant, system or developer.");
        }

        if (!item.TryGetProperty("content", out var content))
        {
            throw new InvalidRequestException($"{path}.content", $"Missing required parameter: '{path}.content'.");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return RouterMessage.FromText(role, content.GetString()!);
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException($"{path}.content", $"'{path}.content' must be a string or an array of content parts.");
        }

        var parts = new List<ContentPart>();
        var i = 0;
        foreach (var part in content.EnumerateArray())
        {
            var pp = $"{path}.content[{i++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException(pp, $"'{pp}' must be an object.");
            }

            switch (OptionalString(part, "type", $"{pp}.type"))
            {
                case "input_text" or "output_text" or "text":
                    parts.Add(ContentPart.FromText(OptionalString(part, "text", $"{pp}.text") ?? throw new InvalidRequestException($"{pp}.text", $"Missing required parameter: '{pp}.text'.")));
                    break;
                case "refusal":
                    parts.Add(ContentPart.FromText(OptionalString(part, "refusal", $"{pp}.refusal") ?? string.Empty));
                    break;
                case "input_image" when role == "user":
                    var url = OptionalString(part, "image_url", $"{pp}.image_url")
                        ?? throw new InvalidRequestException($"{pp}.image_url", OptionalString(part, "file_id", $"{pp}.file_id") is null
                            ? $"Missing required parameter: '{pp}.image_url'."
                            : $"'{pp}.file_id' is not supported by this gateway (no file store); send the image as 'image_url' (an http(s) URL or a base64 data URI).");
                    ValidateImageUrl(url, $"{pp}.image_url");
                    parts.Add(ContentPart.FromImage(url, OptionalString(part, "detail", $"{pp}.detail")));
                    break;
                case "input_image":
                    throw new InvalidRequestException($"{pp}.type", $"Image parts are only allowed in user messages ('{pp}').");
                case var other:
                    throw new InvalidRequestException($"{pp}.type", $"Invalid content part type '{other}' at '{pp}': expected input_text, input_image or output_text.");
            }
        }

        if (parts.Count == 0)
        {
            throw new InvalidRequestException($"{path}.content", $"'{path}.content' must not be empty.");
        }

        return new RouterMessage(role, parts);
    }

    private static void ValidateImageUrl(string url, string path)
    {
        if (url.StartsWith("data:image/", StringComparison.Ordinal) && url.IndexOf(";base64,", StringComparison.Ordinal) is > 0 and var at)
        {
            var data = url.AsSpan(at + 8);
            var buffer = new byte[(data.Length * 3 / 4) + 3];
            if (data.Length == 0 || !Convert.TryFromBase64Chars(data, buffer, out _))
            {
                throw new InvalidRequestException(path, $"'{path}' holds invalid base64 image data.");
            }

            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidRequestException(path, $"'{path}' must be an http(s) URL or a base64 data URI (data:image/<type>;base64,<data>).");
        }
    }

    private static ResponseFormat? ParseTextFormat(JsonElement root)
    {
        if (!root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.Object
            || !text.TryGetProperty("format", out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("text.format", "'text.format' must be an object.");
        }

        switch (OptionalString(format, "type", "text.format.type"))
        {
            case "text":
                return null;
            case "json_object":
                return new ResponseFormat(ResponseFormatKind.JsonObject);
            case "json_schema":
                var name = OptionalString(format, "name", "text.format.name") ?? throw new InvalidRequestException("text.format.name", "Missing required parameter: 'text.format.name'.");
                if (!format.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestException("text.format.schema", "'text.format.schema' must be a JSON schema object.");
                }

                return new ResponseFormat(ResponseFormatKind.JsonSchema, name, schema.GetRawText(), OptionalBool(format, "strict", "text.format.strict") ?? false);
            case var other:
                throw new InvalidRequestException("text.format.type", $"Invalid value '{other}' for 'text.format.type': expected text, json_object or json_schema.");
        }
    }

    private static List<ToolDefinition>? ParseTools(JsonElement root, List<string> warnings, List<McpToolRequest> mcpTools)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("tools", "'tools' must be an array.");
        }

        var list = new List<ToolDefinition>();
        var i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            var path = $"tools[{i++}]";
            var type = t.ValueKind == JsonValueKind.Object ? OptionalString(t, "type", $"{path}.type") : null;
            if (type == "mcp")
            {
                var mcp = ParseMcpTool(t, path, warnings);
                if (mcpTools.Any(m => m.ServerLabel == mcp.ServerLabel))
                {
                    throw new InvalidRequestException($"{path}.server_label", $"MCP server '{mcp.ServerLabel}' is named by more than one tool ('{path}').");
                }

                mcpTools.Add(mcp);
                continue;
            }

            if (type != "function")
            {
                if (type is null)
                {
                    throw new InvalidRequestException(path, $"'{path}' must be an object with a 'type'.");
                }

                warnings.Add($"tool type '{type}' ({path}) is an OpenAI built-in tool and was not passed on");
                continue;
            }

            var name = OptionalString(t, "name", $"{path}.name") ?? throw new InvalidRequestException($"{path}.name", $"Missing required parameter: '{path}.name'.");
            string? parameters = null;
            if (t.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                parameters = p.ValueKind == JsonValueKind.Object ? p.GetRawText() : throw new InvalidRequestException($"{path}.parameters", $"'{path}.parameters' must be a JSON schema object.");
            }

            list.Add(new ToolDefinition(name, OptionalString(t, "description", $"{path}.description"), parameters, OptionalBool(t, "strict", $"{path}.strict") ?? false));
        }

        return list.Count == 0 ? null : list;
    }

    /// <summary>
    /// A <c>{"type":"mcp"}</c> tool: <c>server_label</c> names a server of the gateway's catalog. The gateway reaches only
    /// its catalog's servers, with their own keys: a <c>server_url</c>, <c>headers</c>, <c>authorization</c> or
    /// <c>connector_id</c> of the caller is ignored, with a warning.
    /// </summary>
    private static McpToolRequest ParseMcpTool(JsonElement t, string path, List<string> warnings)
    {
        var label = OptionalString(t, "server_label", $"{path}.server_label") ?? throw new InvalidRequestException($"{path}.server_label", $"Missing required parameter: '{path}.server_label'.");
        foreach (var ignored in (ReadOnlySpan<string>)["server_url", "headers", "authorization", "connector_id"])
        {
            if (t.TryGetProperty(ignored, out var v) && v.ValueKind != JsonValueKind.Null)
            {
                warnings.Add($"{path}.{ignored} was ignored: the gateway calls its own MCP server '{label}' (server_label) with the catalog's key");
            }
        }

        IReadOnlySet<string>? allowed = null;
        var readOnly = false;
        if (t.TryGetProperty("allowed_tools", out var at) && at.ValueKind != JsonValueKind.Null)
        {
            switch (at.ValueKind)
            {
                case JsonValueKind.Array:
                    allowed = Names(at, $"{path}.allowed_tools");
                    break;
                case JsonValueKind.Object:
                    allowed = at.TryGetProperty("tool_names", out var names) && names.ValueKind != JsonValueKind.Null ? Names(names, $"{path}.allowed_tools.tool_names") : null;
                    readOnly = OptionalBool(at, "read_only", $"{path}.allowed_tools.read_only") ?? false;
                    break;
                default:
                    throw new InvalidRequestException($"{path}.allowed_tools", $"'{path}.allowed_tools' must be an array of tool names or {{\"tool_names\":[...],\"read_only\":...}}.");
            }
        }

        var approval = McpApprovalPolicy.AlwaysRequired;
        if (t.TryGetProperty("require_approval", out var ra) && ra.ValueKind != JsonValueKind.Null)
        {
            approval = ra.ValueKind switch
            {
                JsonValueKind.String when ra.GetString() == "always" => McpApprovalPolicy.AlwaysRequired,
                JsonValueKind.String when ra.GetString() == "never" => McpApprovalPolicy.NeverRequired,
                JsonValueKind.Object => new McpApprovalPolicy(true, Filter(ra, "always", path), Filter(ra, "never", path)),
                _ => throw new InvalidRequestException($"{path}.require_approval", $"'{path}.require_approval' must be \"always\", \"never\" or {{\"always\":{{\"tool_names\":[...]}},\"never\":{{\"tool_names\":[...]}}}}."),
            };
        }

        return new McpToolRequest(label, allowed, readOnly, approval, path);

        static IReadOnlySet<string> Filter(JsonElement policy, string name, string path)
        {
            if (!policy.TryGetProperty(name, out var f) || f.ValueKind == JsonValueKind.Null)
            {
                return new HashSet<string>(StringComparer.Ordinal);
            }

            return f.ValueKind == JsonValueKind.Object && f.TryGetProperty("tool_names", out var names)
                ? Names(names, $"{path}.require_approval.{name}.tool_names")
                : throw new InvalidRequestException($"{path}.require_approval.{name}", $"'{path}.require_approval.{name}' must be {{\"tool_names\":[...]}}.");
        }
    }

    private static HashSet<string> Names(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array || array.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
        {
            throw new InvalidRequestException(path, $"'{path}' must be an array of tool names.");
        }

        return array.EnumerateArray().Select(n => n.GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    private static string ValidateMcpChoice(string choice, List<McpToolRequest> mcpTools)
    {
        var label = Core.Mcp.McpToolNames.TrySplit(choice, out var server, out _) ? server : choice;
        return mcpTools.Any(m => m.ServerLabel == label)
            ? (choice == label ? "required" : choice)
            : throw new InvalidRequestException("tool_choice.server_label", $"tool_choice names MCP server '{label}', which no tool of type 'mcp' names.");
    }

    private static string? ParseToolChoice(JsonElement root, List<string> warnings, out string? mcpChoice)
    {
        mcpChoice = null;
        if (!root.TryGetProperty("tool_choice", out var tc) || tc.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tc.ValueKind == JsonValueKind.String && tc.GetString() is "none" or "auto" or "required")
        {
            return tc.GetString();
        }

        if (tc.ValueKind == JsonValueKind.Object)
        {
            var type = OptionalString(tc, "type", "tool_choice.type");
            if (type == "function")
            {
                return OptionalString(tc, "name", "tool_choice.name") ?? throw new InvalidRequestException("tool_choice.name", "Missing required parameter: 'tool_choice.name'.");
            }

            if (type == "mcp")
            {
                var label = OptionalString(tc, "server_label", "tool_choice.server_label") ?? throw new InvalidRequestException("tool_choice.server_label", "Missing required parameter: 'tool_choice.server_label'.");
                var name = OptionalString(tc, "name", "tool_choice.name");
                mcpChoice = name is null ? label : Core.Mcp.McpToolNames.Namespaced(label, name);
                return "auto";
            }

            if (type is not null)
            {
                warnings.Add($"tool_choice of type '{type}' is not supported by the gateway; 'auto' applies");
                return "auto";
            }
        }

        throw new InvalidRequestException("tool_choice", "'tool_choice' must be none, auto, required or {\"type\":\"function\",\"name\":...}.");
    }
}
