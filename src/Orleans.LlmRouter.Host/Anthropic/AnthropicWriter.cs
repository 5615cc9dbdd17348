using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>Writes Anthropic Messages wire JSON straight to a <see cref="Utf8JsonWriter"/>: the message object, stream events, errors.</summary>
internal static class AnthropicWriter
{
    /// <summary><c>stop_reason</c> of a finish reason of the request model.</summary>
    public static string StopReason(string? finish) => finish switch
    {
        "length" => "max_tokens",
        "tool_calls" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    public static void WriteMessage(Utf8JsonWriter w, string id, ChatCompletion c)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", c.Model);
        w.WriteStartArray("content");
        if (c.Message.Text.Length > 0 || c.Message.ToolCalls is not { Count: > 0 })
        {
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", c.Message.Text);
            w.WriteEndObject();
        }

        foreach (var call in c.Message.ToolCalls ?? [])
        {
            WriteToolUse(w, call, withInput: true);
        }

        w.WriteEndArray();
        w.WriteString("stop_reason", StopReason(c.FinishReason));
        w.WriteNull("stop_sequence");
        WriteUsage(w, c.Usage);
        w.WriteEndObject();
    }

    /// <summary>
    /// Usage as Anthropic counts it: <c>input_tokens</c> is the uncached part of the prompt; cache writes and reads are
    /// reported beside it (the request model's prompt includes both).
    /// </summary>
    public static void WriteUsage(Utf8JsonWriter w, TokenUsage? usage, bool outputOnly = false)
    {
        var u = usage ?? TokenUsage.Zero;
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", Math.Max(0, u.PromptTokens - u.CachedTokens - u.CacheWriteTokens));
        w.WriteNumber("cache_creation_input_tokens", u.CacheWriteTokens);
        w.WriteNumber("cache_read_input_tokens", u.CachedTokens);
        w.WriteNumber("output_tokens", outputOnly ? 0 : u.CompletionTokens);
        w.WriteEndObject();
    }

    public static void WriteMessageStart(Utf8JsonWriter w, (string Id, string Model) m)
    {
        w.WriteStartObject();
        w.WriteString("type", "message_start");
        w.WriteStartObject("message");
        w.WriteString("id", m.Id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", m.Model);
        w.WriteStartArray("content");
        w.WriteEndArray();
        w.WriteNull("stop_reason");
        w.WriteNull("stop_sequence");
        WriteUsage(w, null);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WritePing(Utf8JsonWriter w, int _)
    {
        w.WriteStartObject();
        w.WriteString("type", "ping");
        w.WriteEndObject();
    }

    public static void WriteTextBlockStart(Utf8JsonWriter w, int index)
    {
        w.WriteStartObject();
        w.WriteString("type", "content_block_start");
        w.WriteNumber("index", index);
        w.WriteStartObject("content_block");
        w.WriteString("type", "text");
        w.WriteString("text", string.Empty);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteTextDelta(Utf8JsonWriter w, (int Index, string Text) d)
    {
        w.WriteStartObject();
        w.WriteString("type", "content_block_delta");
        w.WriteNumber("index", d.Index);
        w.WriteStartObject("delta");
        w.WriteString("type", "text_delta");
        w.WriteString("text", d.Text);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteToolUseStart(Utf8JsonWriter w, (int Index, ToolCall Call) t)
    {
        w.WriteStartObject();
        w.WriteString("type", "content_block_start");
        w.WriteNumber("index", t.Index);
        w.WritePropertyName("content_block");
        WriteToolUse(w, t.Call, withInput: false);
        w.WriteEndObject();
    }

    public static void WriteInputJsonDelta(Utf8JsonWriter w, (int Index, string Json) d)
    {
        w.WriteStartObject();
        w.WriteString("type", "content_block_delta");
        w.WriteNumber("index", d.Index);
        w.WriteStartObject("delta");
        w.WriteString("type", "input_json_delta");
        w.WriteString("partial_json", d.Json);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteBlockStop(Utf8JsonWriter w, int index)
    {
        w.WriteStartObject();
        w.WriteString("type", "content_block_stop");
        w.WriteNumber("index", index);
        w.WriteEndObject();
    }

    public static void WriteMessageDelta(Utf8JsonWriter w, (string? Finish, TokenUsage? Usage) d)
    {
        w.WriteStartObject();
        w.WriteString("type", "message_delta");
        w.WriteStartObject("delta");
        w.WriteString("stop_reason", StopReason(d.Finish));
        w.WriteNull("stop_sequence");
        w.WriteEndObject();
        WriteUsage(w, d.Usage);
        w.WriteEndObject();
    }

    public static void WriteMessageStop(Utf8JsonWriter w, int _)
    {
        w.WriteStartObject();
        w.WriteString("type", "message_stop");
        w.WriteEndObject();
    }

    /// <summary><c>{"type":"error","error":{"type":…,"message":…}}</c>, with extra fields (a budget's) when given.</summary>
    public static void WriteError(Utf8JsonWriter w, (string Type, string Message) e) => WriteError(w, e.Type, e.Message, null);

    public static void WriteError(Utf8JsonWriter w, string type, string message, Action<Utf8JsonWriter>? extra)
    {
        w.WriteStartObject();
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        extra?.Invoke(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteToolUse(Utf8JsonWriter w, ToolCall call, bool withInput)
    {
        w.WriteStartObject();
        w.WriteString("type", "tool_use");
        w.WriteString("id", call.Id);
        w.WriteString("name", call.Name);
        w.WritePropertyName("input");
        if (withInput && IsObject(call.ArgumentsJson))
        {
            w.WriteRawValue(call.ArgumentsJson, skipInputValidation: true);
        }
        else
        {
            w.WriteStartObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static bool IsObject(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
