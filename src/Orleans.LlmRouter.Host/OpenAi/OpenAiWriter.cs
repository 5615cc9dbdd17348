using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>Writes OpenAI wire JSON straight to a <see cref="Utf8JsonWriter"/> (no reflection on the hot path).</summary>
internal static class OpenAiWriter
{
    public static void WriteCompletion(Utf8JsonWriter w, ChatCompletion c)
    {
        w.WriteStartObject();
        w.WriteString("id", c.Id);
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", c.Created.ToUnixTimeSeconds());
        w.WriteString("model", c.Model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        if (c.Message.ToolCalls is { Count: > 0 } && c.Message.Content.Count == 0)
        {
            w.WriteNull("content");
        }
        else
        {
            w.WriteString("content", c.Message.Text);
        }

        w.WriteNull("refusal");
        if (c.Message.ToolCalls is { Count: > 0 } calls)
        {
            WriteToolCalls(w, calls, withIndex: false);
        }

        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", c.FinishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, c.Usage);
        w.WriteEndObject();
    }

    public static void WriteChunk(Utf8JsonWriter w, string id, long created, string model, ChatStreamItem item, bool first)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (first)
        {
            w.WriteString("role", "assistant");
        }

        if (item.TextDelta is { } text)
        {
            w.WriteString("content", text);
        }
        else if (first)
        {
            w.WriteString("content", string.Empty);
        }

        if (item.ToolCalls is { Count: > 0 } calls)
        {
            WriteToolCalls(w, calls, withIndex: true);
        }

        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (item.FinishReason is { } finish)
        {
            w.WriteString("finish_reason", finish);
        }
        else
        {
            w.WriteNull("finish_reason");
        }

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("usage");
        w.WriteEndObject();
    }

    public static void WriteUsageChunk(Utf8JsonWriter w, string id, long created, string model, TokenUsage usage)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, usage);
        w.WriteEndObject();
    }

    public static void WriteError(Utf8JsonWriter w, string message, string type, string? param, string? code)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", type);
        if (param is null)
        {
            w.WriteNull("param");
        }
        else
        {
            w.WriteString("param", param);
        }

        if (code is null)
        {
            w.WriteNull("code");
        }
        else
        {
            w.WriteString("code", code);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteToolCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls, bool withIndex)
    {
        w.WriteStartArray("tool_calls");
        for (var i = 0; i < calls.Count; i++)
        {
            w.WriteStartObject();
            if (withIndex)
            {
                w.WriteNumber("index", i);
            }

            w.WriteString("id", calls[i].Id);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", calls[i].Name);
            w.WriteString("arguments", calls[i].ArgumentsJson);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteUsage(Utf8JsonWriter w, TokenUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.PromptTokens);
        w.WriteNumber("completion_tokens", u.CompletionTokens);
        w.WriteNumber("total_tokens", u.TotalTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", u.ReasoningTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static string Money(decimal value) => value.ToString("0.##########", CultureInfo.InvariantCulture);
}
