using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>Writes Responses API wire JSON straight to a <see cref="Utf8JsonWriter"/>: the response object, output items and stream events.</summary>
internal static class ResponsesWriter
{
    public static void WriteResponse(Utf8JsonWriter w, ResponseSnapshot r)
    {
        var q = r.Request;
        var t = q.Template;
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", r.CreatedAt);
        w.WriteString("status", r.Status);
        w.WriteBoolean("background", false);
        if (r.Error is { } error)
        {
            w.WriteStartObject("error");
            w.WriteString("code", error.Code);
            w.WriteString("message", error.Message);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("error");
        }

        if (r.IncompleteReason is { } reason)
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", reason);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details");
        }

        WriteNullable(w, "instructions", q.Instructions);
        if (t.MaxOutputTokens is { } max)
        {
            w.WriteNumber("max_output_tokens", max);
        }
        else
        {
            w.WriteNull("max_output_tokens");
        }

        w.WriteString("model", r.Model);
        w.WriteStartArray("output");
        foreach (var item in r.Output)
        {
            WriteItem(w, item, done: true);
        }

        w.WriteEndArray();
        w.WriteString("output_text", string.Concat(r.Output.Where(o => o.Text is not null).Select(o => o.Text)));
        w.WriteBoolean("parallel_tool_calls", q.ParallelToolCalls);
        WriteNullable(w, "previous_response_id", q.PreviousResponseId);
        w.WriteStartObject("reasoning");
        WriteNullable(w, "effort", q.ReasoningEffort);
        w.WriteNull("summary");
        w.WriteEndObject();
        w.WriteString("service_tier", "default");
        w.WriteBoolean("store", q.Store);
        WriteNumber(w, "temperature", t.Temperature ?? 1.0);
        w.WriteStartObject("text");
        w.WriteStartObject("format");
        switch (t.ResponseFormat)
        {
            case { Kind: ResponseFormatKind.JsonSchema } schema:
                w.WriteString("type", "json_schema");
                w.WriteString("name", schema.SchemaName);
                w.WritePropertyName("schema");
                w.WriteRawValue(schema.SchemaJson ?? "{}", skipInputValidation: true);
                w.WriteBoolean("strict", schema.Strict);
                break;
            case { Kind: ResponseFormatKind.JsonObject }:
                w.WriteString("type", "json_object");
                break;
            default:
                w.WriteString("type", "text");
                break;
        }

        w.WriteEndObject();
        w.WriteEndObject();
        switch (t.ToolChoice)
        {
            case null or "auto" or "none" or "required":
                w.WriteString("tool_choice", t.ToolChoice ?? "auto");
                break;
            case var name:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteString("name", name);
                w.WriteEndObject();
                break;
        }

        w.WriteStartArray("tools");
        foreach (var mcp in q.McpTools)
        {
            w.WriteStartObject();
            w.WriteString("type", "mcp");
            w.WriteString("server_label", mcp.ServerLabel);
            if (mcp.AllowedTools is { } allowed)
            {
                w.WriteStartArray("allowed_tools");
                foreach (var name in allowed.Order(StringComparer.Ordinal))
                {
                    w.WriteStringValue(name);
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteNull("allowed_tools");
            }

            if (mcp.Approval == McpApprovalPolicy.AlwaysRequired || mcp.Approval == McpApprovalPolicy.NeverRequired)
            {
                w.WriteString("require_approval", mcp.Approval.Default ? "always" : "never");
            }
            else
            {
                w.WriteStartObject("require_approval");
                foreach (var (name, set) in new[] { ("always", mcp.Approval.Always), ("never", mcp.Approval.Never) })
                {
                    w.WriteStartObject(name);
                    w.WriteStartArray("tool_names");
                    foreach (var tool in set.Order(StringComparer.Ordinal))
                    {
                        w.WriteStringValue(tool);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        foreach (var tool in t.Tools ?? [])
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteString("name", tool.Name);
            WriteNullable(w, "description", tool.Description);
            w.WritePropertyName("parameters");
            w.WriteRawValue(tool.ParametersJson ?? "{}", skipInputValidation: true);
            w.WriteBoolean("strict", tool.Strict);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteNumber(w, "top_p", t.TopP ?? 1.0);
        w.WriteString("truncation", "disabled");
        if (r.Usage is { } usage)
        {
            WriteUsage(w, usage);
        }
        else
        {
            w.WriteNull("usage");
        }

        WriteNullable(w, "user", t.User);
        w.WriteStartObject("metadata");
        foreach (var (key, value) in t.Metadata ?? new Dictionary<string, string>())
        {
            w.WriteString(key, value);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>An output item; <paramref name="done"/> false writes it as just added (empty, in progress).</summary>
    public static void WriteItem(Utf8JsonWriter w, ResponseOutputItem item, bool done)
    {
        if (item.Mcp is { } mcp)
        {
            WriteMcpItem(w, item.Id, mcp);
            return;
        }

        w.WriteStartObject();
        if (item.Call is { } call)
        {
            w.WriteString("type", "function_call");
            w.WriteString("id", item.Id);
            w.WriteString("call_id", call.Id);
            w.WriteString("name", call.Name);
            w.WriteString("arguments", done ? call.ArgumentsJson : string.Empty);
        }
        else
        {
            w.WriteString("type", "message");
            w.WriteString("id", item.Id);
            w.WriteString("role", "assistant");
            w.WriteStartArray("content");
            if (done)
            {
                WriteTextPart(w, item.Text ?? string.Empty);
            }

            w.WriteEndArray();
        }

        w.WriteString("status", done ? "completed" : "in_progress");
        w.WriteEndObject();
    }

    /// <summary>An MCP output item (<see cref="McpOutput"/>) in OpenAI's shape.</summary>
    public static void WriteMcpItem(Utf8JsonWriter w, string id, McpOutput m)
    {
        w.WriteStartObject();
        w.WriteString("type", m.Type);
        w.WriteString("id", id);
        w.WriteString("server_label", m.ServerLabel);
        switch (m.Type)
        {
            case McpOutput.ListTools:
                w.WriteStartArray("tools");
                foreach (var tool in m.Tools ?? [])
                {
                    w.WriteStartObject();
                    w.WriteString("name", tool.Name);
                    WriteNullable(w, "description", tool.Description);
                    w.WritePropertyName("input_schema");
                    w.WriteRawValue(tool.InputSchemaJson, skipInputValidation: true);
                    w.WritePropertyName("annotations");
                    w.WriteRawValue(tool.AnnotationsJson ?? "null", skipInputValidation: true);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                WriteNullable(w, "error", m.Error);
                break;
            case McpOutput.Call:
                w.WriteString("name", m.Name);
                w.WriteString("arguments", m.Arguments);
                WriteNullable(w, "output", m.Output);
                WriteNullable(w, "error", m.Error);
                WriteNullable(w, "approval_request_id", m.ApprovalRequestId);
                w.WriteString("status", m.Error is null ? "completed" : "failed");
                break;
            default:
                w.WriteString("name", m.Name);
                w.WriteString("arguments", m.Arguments);
                break;
        }

        w.WriteEndObject();
    }

    public static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", u.PromptTokens);
        w.WriteStartObject("input_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteNumber("output_tokens", u.CompletionTokens);
        w.WriteStartObject("output_tokens_details");
        w.WriteNumber("reasoning_tokens", u.ReasoningTokens);
        w.WriteEndObject();
        w.WriteNumber("total_tokens", u.TotalTokens);
        w.WriteEndObject();
    }

    /// <summary>Starts a stream event object: its <c>type</c> and <c>sequence_number</c>.</summary>
    public static void BeginEvent(Utf8JsonWriter w, string type, int sequence)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteNumber("sequence_number", sequence);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double value) => w.WriteNumber(name, value);
}
