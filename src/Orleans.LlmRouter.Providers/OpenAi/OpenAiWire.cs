using System.Buffers;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.OpenAi;

/// <summary>
/// The OpenAI Chat Completions wire format, shared by every OpenAI-compatible API (OpenAI, DeepSeek, vLLM, a LiteLLM
/// proxy, Ollama's /v1): request writing and response/chunk reading with Utf8JsonWriter/JsonDocument, tolerant of
/// unknown fields.
/// </summary>
internal static class OpenAiWire
{
    /// <summary>Writes a chat request. <paramref name="legacyMaxTokens"/> sends <c>max_tokens</c> (what DeepSeek and Ollama read).</summary>
    /// <paramref name="reasoningEffort"/>, when set, is sent as <c>reasoning_effort</c> (models with the <c>reasoning</c> capability).
    public static byte[] ChatRequest(ChatRequest request, string providerModel, bool stream, bool legacyMaxTokens, string? reasoningEffort = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", providerModel);
            w.WriteStartArray("messages");
            foreach (var m in request.Messages)
            {
                WriteMessage(w, m);
            }

            w.WriteEndArray();
            if (request.Temperature is { } t)
            {
                w.WriteNumber("temperature", t);
            }

            if (request.TopP is { } p)
            {
                w.WriteNumber("top_p", p);
            }

            if (request.MaxOutputTokens is { } max)
            {
                w.WriteNumber(legacyMaxTokens ? "max_tokens" : "max_completion_tokens", max);
            }

            WireHelpers.WriteStop(w, "stop", request.Stop);

            if (request.Seed is { } seed)
            {
                w.WriteNumber("seed", seed);
            }

            if (reasoningEffort is not null)
            {
                w.WriteString("reasoning_effort", reasoningEffort);
            }

            if (request.User is { } user)
            {
                w.WriteString("user", user);
            }

            WriteResponseFormat(w, request.ResponseFormat);
            WriteTools(w, request);
            if (stream)
            {
                w.WriteBoolean("stream", true);
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] EmbeddingsRequest(IReadOnlyList<string> inputs, string providerModel, int? dimensions)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", providerModel);
            w.WriteStartArray("input");
            foreach (var i in inputs)
            {
                w.WriteStringValue(i);
            }

            w.WriteEndArray();
            w.WriteString("encoding_format", "float");
            if (dimensions is { } d)
            {
                w.WriteNumber("dimensions", d);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Usage from an OpenAI-shaped <c>usage</c> object: <c>prompt_tokens</c> (the whole prompt), of which
    /// <c>prompt_tokens_details.cached_tokens</c> were read from the cache (DeepSeek: <c>prompt_cache_hit_tokens</c>,
    /// with <c>prompt_cache_miss_tokens</c> the rest), and <c>completion_tokens</c>, of which
    /// <c>completion_tokens_details.reasoning_tokens</c> were reasoning. Absent or null counts are zero.
    /// </summary>
    public static TokenUsage Usage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return TokenUsage.Zero;
        }

        var details = usage.TryGetProperty("prompt_tokens_details", out var pd) ? pd : default;
        var cached = UsageCounts.Read(details, "cached_tokens");
        var hit = UsageCounts.Read(usage, "prompt_cache_hit_tokens"); // DeepSeek
        if (cached == 0)
        {
            cached = hit;
        }

        var prompt = UsageCounts.Read(usage, "prompt_tokens", -1);
        if (prompt < 0)
        {
            prompt = hit + UsageCounts.Read(usage, "prompt_cache_miss_tokens");
        }

        var reasoning = UsageCounts.Read(usage.TryGetProperty("completion_tokens_details", out var cd) ? cd : default, "reasoning_tokens");
        return UsageCounts.Consistent(prompt, UsageCounts.Read(usage, "completion_tokens"), cached, reasoning);
    }

    /// <summary>stop, length, tool_calls or content_filter (function_call is folded into tool_calls).</summary>
    public static string FinishReason(string? raw, bool hasToolCalls) => raw switch
    {
        "length" => "length",
        "tool_calls" or "function_call" => "tool_calls",
        "content_filter" => "content_filter",
        _ => hasToolCalls ? "tool_calls" : "stop",
    };

    /// <summary>Tool arguments normalised to a JSON object text.</summary>
    public static string NormalizeArguments(string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return "{}";
        }

        try
        {
            using var doc = JsonDocument.Parse(arguments);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? arguments : "{}";
        }
        catch (JsonException)
        {
            return "{}";
        }
    }

    private static void WriteMessage(Utf8JsonWriter w, RouterMessage m)
    {
        w.WriteStartObject();
        w.WriteString("role", m.Role);
        if (m.Name is { } name)
        {
            w.WriteString("name", name);
        }

        if (m.ToolCallId is { } callId)
        {
            w.WriteString("tool_call_id", callId);
        }

        if (m.Content.Count == 0)
        {
            w.WriteNull("content");
        }
        else if (m.Content.All(p => p.Kind == ContentPartKind.Text))
        {
            w.WriteString("content", m.Text);
        }
        else
        {
            w.WriteStartArray("content");
            foreach (var part in m.Content)
            {
                w.WriteStartObject();
                if (part.Kind == ContentPartKind.Text)
                {
                    w.WriteString("type", "text");
                    w.WriteString("text", part.Text);
                }
                else if (part.Kind == ContentPartKind.Document)
                {
                    // A PDF as a file part; the adapter refuses documents given by URL before it writes.
                    w.WriteString("type", "file");
                    w.WriteStartObject("file");
                    w.WriteString("filename", FileName(part));
                    w.WriteString("file_data", $"data:{part.MediaType ?? "application/pdf"};base64,{part.Data}");
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteString("type", "image_url");
                    w.WriteStartObject("image_url");
                    w.WriteString("url", part.ImageUrl);
                    if (part.ImageDetail is { } detail)
                    {
                        w.WriteString("detail", detail);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (m.ToolCalls is { Count: > 0 } calls)
        {
            w.WriteStartArray("tool_calls");
            foreach (var c in calls)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Id);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", c.Name);
                w.WriteString("arguments", c.ArgumentsJson);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>A file part's name: the document's title with a <c>.pdf</c> extension, else <c>document.pdf</c>.</summary>
    private static string FileName(ContentPart part) =>
        part.Title is { Length: > 0 } title
            ? (title.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) ? title : title + ".pdf")
            : "document.pdf";

    private static void WriteResponseFormat(Utf8JsonWriter w, ResponseFormat? format)
    {
        if (format is null)
        {
            return;
        }

        w.WriteStartObject("response_format");
        switch (format.Kind)
        {
            case ResponseFormatKind.JsonObject:
                w.WriteString("type", "json_object");
                break;
            case ResponseFormatKind.JsonSchema:
                w.WriteString("type", "json_schema");
                w.WriteStartObject("json_schema");
                w.WriteString("name", format.SchemaName ?? "response");
                w.WritePropertyName("schema");
                w.WriteRawValue(format.SchemaJson ?? "{}");
                w.WriteBoolean("strict", format.Strict);
                w.WriteEndObject();
                break;
            default:
                w.WriteString("type", "text");
                break;
        }

        w.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter w, ChatRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        w.WriteStartArray("tools");
        foreach (var t in tools)
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", t.Name);
            if (t.Description is { } d)
            {
                w.WriteString("description", d);
            }

            if (t.ParametersJson is { } p)
            {
                w.WritePropertyName("parameters");
                w.WriteRawValue(p);
            }

            if (t.Strict)
            {
                w.WriteBoolean("strict", true);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        switch (request.ToolChoice)
        {
            case null:
                break;
            case "none" or "auto" or "required":
                w.WriteString("tool_choice", request.ToolChoice);
                break;
            default:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", request.ToolChoice);
                w.WriteEndObject();
                w.WriteEndObject();
                break;
        }
    }
}
