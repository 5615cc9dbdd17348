using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Ollama;

/// <summary>
/// Ollama's native wire format (<c>/api/chat</c>, <c>/api/embed</c>, <c>/api/tags</c>), written with
/// <see cref="Utf8JsonWriter"/> and read with <see cref="JsonDocument"/>, tolerant of unknown fields. Differences from
/// the OpenAI format it handles: sampling settings live in <c>options</c> (<c>num_predict</c> is the output cap),
/// images are bare base64 strings in a message's <c>images</c>, tool-call arguments are JSON objects (not strings),
/// tool results name their tool (<c>tool_name</c>), and <c>format</c> is <c>"json"</c> or the schema itself.
/// </summary>
internal static class OllamaWire
{
    /// <summary>
    /// Writes an <c>/api/chat</c> request. <c>stream</c> is always written because Ollama streams by default.
    /// <paramref name="invalid"/> builds the exception for input Ollama cannot take (image URLs, non-object tool
    /// arguments), so nothing is sent for it.
    /// </summary>
    public static byte[] ChatRequest(ChatRequest request, string providerModel, bool stream, OllamaRequestSettings settings, Func<string, Exception> invalid)
    {
        ArgumentNullException.ThrowIfNull(request);
        var toolNames = request.Messages.Where(m => m.ToolCalls is not null).SelectMany(m => m.ToolCalls!)
            .Where(c => !string.IsNullOrEmpty(c.Id)).GroupBy(c => c.Id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Name, StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", providerModel);
            w.WriteStartArray("messages");
            foreach (var m in request.Messages)
            {
                WriteMessage(w, m, toolNames, invalid);
            }

            w.WriteEndArray();
            WriteTools(w, request);
            WriteFormat(w, request.ResponseFormat);
            WriteOptions(w, request, settings);
            w.WriteBoolean("stream", stream);
            WriteKeepAlive(w, settings.KeepAlive);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes an <c>/api/embed</c> request (<c>input</c> always an array).</summary>
    public static byte[] EmbedRequest(IReadOnlyList<string> inputs, string providerModel, int? dimensions, OllamaRequestSettings settings)
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
            if (dimensions is { } d)
            {
                w.WriteNumber("dimensions", d);
            }

            WriteKeepAlive(w, settings.KeepAlive);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Usage from a final object: <c>prompt_eval_count</c> is the prompt (absent when zero, e.g. a fully cached prompt)
    /// and <c>eval_count</c> the completion; absent or null counts are zero. Ollama reports no cache or reasoning split.
    /// </summary>
    public static TokenUsage Usage(JsonElement root) => UsageCounts.Consistent(UsageCounts.Read(root, "prompt_eval_count"), UsageCounts.Read(root, "eval_count"));

    /// <summary><c>length</c> stays length; <c>stop</c> (and anything else) is stop, or tool_calls when the model called tools.</summary>
    public static string FinishReason(string? doneReason, bool hasToolCalls) => doneReason switch
    {
        "length" => "length",
        _ => hasToolCalls ? "tool_calls" : "stop",
    };

    /// <summary>The tool calls of a response <c>message</c>, with an id generated when Ollama gives none.</summary>
    public static List<ToolCall> ToolCalls(JsonElement message)
    {
        var calls = new List<ToolCall>();
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("tool_calls", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return calls;
        }

        foreach (var call in list.EnumerateArray())
        {
            if (!call.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var id = call.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String && i.GetString() is { Length: > 0 } given ? given : NewToolCallId();
            var name = fn.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() ?? string.Empty : string.Empty;
            calls.Add(new ToolCall(id, name, CompactArguments(fn.TryGetProperty("arguments", out var a) ? a : default)));
        }

        return calls;
    }

    /// <summary>Tool arguments as compact JSON object text: an object as is, a JSON string holding an object parsed, anything else <c>{}</c>.</summary>
    public static string CompactArguments(JsonElement arguments)
    {
        switch (arguments.ValueKind)
        {
            case JsonValueKind.Object:
                var buffer = new ArrayBufferWriter<byte>(128);
                using (var w = new Utf8JsonWriter(buffer))
                {
                    arguments.WriteTo(w);
                }

                return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
            case JsonValueKind.String when arguments.GetString() is { Length: > 0 } text:
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    return doc.RootElement.ValueKind == JsonValueKind.Object ? CompactArguments(doc.RootElement) : "{}";
                }
                catch (JsonException)
                {
                    return "{}";
                }

            default:
                return "{}";
        }
    }

    /// <summary>
    /// The base64 payload Ollama expects for an image part, or the reason it cannot be sent: Ollama does not fetch
    /// URLs, so only <c>data:…;base64,</c> URIs (prefix stripped) and bare base64 are accepted.
    /// </summary>
    public static (string? Base64, string? Error) ImageData(string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            return (null, "an image part has no data");
        }

        if (reference.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || reference.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "image URLs are not supported by Ollama; send the image inline as a base64 data URI (data:image/...;base64,...)");
        }

        if (reference.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = reference.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 0 ? reference.AsSpan(5, comma - 5) : default;
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                return (null, "only base64 data URIs (data:image/...;base64,...) can be sent to Ollama");
            }

            var data = reference[(comma + 1)..];
            return Base64.IsValid(data) && data.Length > 0 ? (data, null) : (null, "the image data URI does not hold valid base64");
        }

        return Base64.IsValid(reference) ? (reference, null) : (null, "an image must be a base64 data URI (data:image/...;base64,...); other references are not supported by Ollama");
    }

    private static string NewToolCallId() => "call_" + Guid.NewGuid().ToString("N")[..16];

    private static void WriteMessage(Utf8JsonWriter w, RouterMessage m, Dictionary<string, string> toolNames, Func<string, Exception> invalid)
    {
        w.WriteStartObject();
        w.WriteString("role", m.Role == "developer" ? "system" : m.Role);
        w.WriteString("content", m.Text);
        if (m.Content.Any(p => p.Kind == ContentPartKind.Document))
        {
            throw invalid("Ollama takes no PDF documents; route them to a model with the documents capability");
        }

        var images = m.Content.Where(p => p.Kind == ContentPartKind.Image).ToList();
        if (images.Count > 0)
        {
            w.WriteStartArray("images");
            foreach (var image in images)
            {
                var (data, error) = ImageData(image.ImageUrl);
                w.WriteStringValue(data ?? throw invalid(error!));
            }

            w.WriteEndArray();
        }

        if (m.ToolCalls is { Count: > 0 } calls)
        {
            w.WriteStartArray("tool_calls");
            foreach (var c in calls)
            {
                w.WriteStartObject();
                if (!string.IsNullOrEmpty(c.Id))
                {
                    w.WriteString("id", c.Id);
                }

                w.WriteStartObject("function");
                w.WriteString("name", c.Name);
                w.WritePropertyName("arguments");
                WriteArgumentsObject(w, c, invalid);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (m.Role == "tool")
        {
            var toolName = m.ToolCallId is { } id && toolNames.TryGetValue(id, out var known) ? known : m.Name;
            if (toolName is not null)
            {
                w.WriteString("tool_name", toolName);
            }

            if (m.ToolCallId is { } callId)
            {
                w.WriteString("tool_call_id", callId);
            }
        }

        w.WriteEndObject();
    }

    private static void WriteArgumentsObject(Utf8JsonWriter w, ToolCall call, Func<string, Exception> invalid)
    {
        if (string.IsNullOrWhiteSpace(call.ArgumentsJson))
        {
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }

        try
        {
            using var doc = JsonDocument.Parse(call.ArgumentsJson);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                doc.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
        }

        throw invalid($"the arguments of tool call '{call.Id}' ({call.Name}) are not a JSON object; Ollama takes tool arguments as objects");
    }

    private static void WriteTools(Utf8JsonWriter w, ChatRequest request)
    {
        // Ollama has no tool_choice: "none" sends no tools, a named function sends only that one, auto/required send all.
        if (request.Tools is not { Count: > 0 } all || request.ToolChoice == "none")
        {
            return;
        }

        var named = request.ToolChoice is { } choice and not ("auto" or "required") ? all.Where(t => t.Name == choice).ToList() : null;
        IReadOnlyList<ToolDefinition> tools = named is { Count: > 0 } ? named : all;
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

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteFormat(Utf8JsonWriter w, ResponseFormat? format)
    {
        switch (format?.Kind)
        {
            case ResponseFormatKind.JsonObject:
                w.WriteString("format", "json");
                break;
            case ResponseFormatKind.JsonSchema:
                w.WritePropertyName("format");
                w.WriteRawValue(format.SchemaJson ?? "{}");
                break;
        }
    }

    private static void WriteOptions(Utf8JsonWriter w, ChatRequest request, OllamaRequestSettings settings)
    {
        if (request is { Temperature: null, TopP: null, MaxOutputTokens: null, Seed: null } && request.Stop is not { Count: > 0 } && settings.NumCtx is null)
        {
            return;
        }

        w.WriteStartObject("options");
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
            w.WriteNumber("num_predict", max);
        }

        WireHelpers.WriteStop(w, "stop", request.Stop);

        if (request.Seed is { } seed)
        {
            w.WriteNumber("seed", seed);
        }

        if (settings.NumCtx is { } ctx)
        {
            w.WriteNumber("num_ctx", ctx);
        }

        w.WriteEndObject();
    }

    private static void WriteKeepAlive(Utf8JsonWriter w, string? keepAlive)
    {
        if (keepAlive is null)
        {
            return;
        }

        // A number is seconds (-1 keeps the model loaded); anything else is a Go duration such as "5m".
        if (long.TryParse(keepAlive, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            w.WriteNumber("keep_alive", seconds);
        }
        else
        {
            w.WriteString("keep_alive", keepAlive);
        }
    }
}
