using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>
/// The Gemini Developer API wire format (<c>generateContent</c>, <c>streamGenerateContent</c>,
/// <c>batchEmbedContents</c>): request writing with <see cref="Utf8JsonWriter"/> and response reading with
/// <see cref="JsonDocument"/>, tolerant of unknown fields. Throws <see cref="GeminiRequestException"/> for a request
/// Gemini cannot take (the adapter turns it into a bad-request error before anything is sent).
/// </summary>
internal static class GeminiWire
{
    /// <summary>Mime type that switches Gemini to JSON output.</summary>
    public const string JsonMimeType = "application/json";

    /// <summary>
    /// Signature Gemini documents for function calls it did not produce in this form (history rebuilt from the
    /// OpenAI-shaped messages we receive). Gemini 3 rejects a model turn whose first <c>functionCall</c> part carries
    /// no <c>thoughtSignature</c>; earlier models ignore it.
    /// </summary>
    public const string ForeignThoughtSignature = "skip_thought_signature_validator";

    /// <summary>Writes a <c>GenerateContentRequest</c>.</summary>
    public static byte[] GenerateContentRequest(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (system, turns) = Turns(request.Messages);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("contents");
            foreach (var turn in turns)
            {
                w.WriteStartObject();
                w.WriteString("role", turn.Role);
                w.WriteStartArray("parts");
                foreach (var part in turn.Parts)
                {
                    part(w);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (system.Count > 0)
            {
                w.WriteStartObject("systemInstruction");
                w.WriteStartArray("parts");
                foreach (var text in system)
                {
                    w.WriteStartObject();
                    w.WriteString("text", text);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            WriteTools(w, request);
            WriteGenerationConfig(w, request);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes a <c>BatchEmbedContentsRequest</c>: one request per input, each naming the model.</summary>
    public static byte[] BatchEmbedRequest(IEnumerable<string> inputs, string model, int? dimensions)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("requests");
            foreach (var input in inputs)
            {
                w.WriteStartObject();
                w.WriteString("model", "models/" + model);
                w.WriteStartObject("content");
                w.WriteStartArray("parts");
                w.WriteStartObject();
                w.WriteString("text", input);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                if (dimensions is { } d)
                {
                    w.WriteNumber("outputDimensionality", d);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The model id Gemini puts in a path: without a <c>models/</c> prefix.</summary>
    public static string ModelId(string model) =>
        model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;

    /// <summary>
    /// Usage from <c>usageMetadata</c>. <c>promptTokenCount</c> already includes <c>cachedContentTokenCount</c>;
    /// thinking is billed as output, so completion is <c>candidatesTokenCount + thoughtsTokenCount</c> and the
    /// thoughts are reported as the reasoning subset. Gemini omits zero counts; absent or null counts are zero.
    /// </summary>
    public static TokenUsage Usage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return TokenUsage.Zero;
        }

        var thoughts = UsageCounts.Read(usage, "thoughtsTokenCount");
        return UsageCounts.Consistent(
            UsageCounts.Read(usage, "promptTokenCount"),
            UsageCounts.Read(usage, "candidatesTokenCount") + thoughts,
            cached: UsageCounts.Read(usage, "cachedContentTokenCount"),
            reasoning: thoughts);
    }

    /// <summary>stop, length, tool_calls or content_filter. Gemini has no tool-call reason: function call parts decide.</summary>
    public static string FinishReason(string? raw, bool hasToolCalls) => raw switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => "content_filter",
        _ => hasToolCalls ? "tool_calls" : "stop",
    };

    /// <summary>
    /// Reads the first candidate's parts: visible text is appended to <paramref name="text"/> (thought summaries,
    /// <c>thought: true</c>, are skipped) and function calls to <paramref name="calls"/>, with an id derived from the
    /// response id and the call's position when Gemini gives none. Returns the candidate's finish reason, if any.
    /// </summary>
    public static string? ReadCandidate(JsonElement root, StringBuilder text, List<ToolCall> calls, string? responseId)
    {
        if (!root.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
        {
            return null;
        }

        var candidate = candidates[0];
        if (candidate.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
        {
            foreach (var part in parts.EnumerateArray())
            {
                if (part.TryGetProperty("functionCall", out var call) && call.ValueKind == JsonValueKind.Object)
                {
                    var name = call.TryGetProperty("name", out var n) ? n.GetString() ?? string.Empty : string.Empty;
                    var args = CompactArguments(call.TryGetProperty("args", out var a) ? a : default);
                    var id = call.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String && i.GetString() is { Length: > 0 } given
                        ? given
                        : CallId(responseId, calls.Count, name, args);
                    calls.Add(new ToolCall(id, name, args));
                }
                else if (part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    && !(part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True))
                {
                    text.Append(t.GetString());
                }
            }
        }

        return candidate.TryGetProperty("finishReason", out var fr) && fr.ValueKind == JsonValueKind.String ? fr.GetString() : null;
    }

    /// <summary><c>promptFeedback.blockReason</c>: set when Gemini refused the prompt itself (no candidates then).</summary>
    public static string? BlockReason(JsonElement root) =>
        root.TryGetProperty("promptFeedback", out var feedback) && feedback.ValueKind == JsonValueKind.Object
        && feedback.TryGetProperty("blockReason", out var reason) && reason.ValueKind == JsonValueKind.String
            ? reason.GetString()
            : null;

    /// <summary>Function-call arguments (a JSON object in Gemini) as compact JSON object text.</summary>
    public static string CompactArguments(JsonElement args)
    {
        if (args.ValueKind != JsonValueKind.Object)
        {
            return "{}";
        }

        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            args.WriteTo(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A stable tool-call id: the same response and call position always give the same id.</summary>
    private static string CallId(string? responseId, int index, string name, string args)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{responseId}\n{index}\n{name}\n{args}"));
        return "call_" + Convert.ToHexStringLower(hash)[..24];
    }

    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Parts);

    /// <summary>
    /// System and developer messages become <c>systemInstruction</c>; the rest become <c>contents</c> with roles
    /// <c>user</c> and <c>model</c>. Tool results are <c>functionResponse</c> parts in a user turn (named after the
    /// earlier assistant call with that id). Consecutive messages of one role are merged into one turn.
    /// </summary>
    private static (List<string> System, List<Turn> Turns) Turns(IReadOnlyList<RouterMessage> messages)
    {
        var system = new List<string>();
        var turns = new List<Turn>();
        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var m in messages)
        {
            string role;
            var parts = new List<Action<Utf8JsonWriter>>();
            switch (m.Role)
            {
                case "system" or "developer":
                    if (m.Content.Any(p => p.Kind != ContentPartKind.Text))
                    {
                        throw new GeminiRequestException("Gemini takes text only in system instructions.");
                    }

                    if (m.Text is { Length: > 0 } instruction)
                    {
                        system.Add(instruction);
                    }

                    continue;
                case "user":
                    role = "user";
                    AddContent(parts, m);
                    break;
                case "assistant":
                    role = "model";
                    AddContent(parts, m);
                    var first = true;
                    foreach (var call in m.ToolCalls ?? [])
                    {
                        callNames[call.Id] = call.Name;
                        var signature = first ? ForeignThoughtSignature : null;
                        first = false;
                        parts.Add(w => WriteFunctionCall(w, call, signature));
                    }

                    break;
                case "tool":
                    role = "user";
                    var name = m.ToolCallId is { } id && callNames.TryGetValue(id, out var n) ? n : m.Name;
                    if (name is null)
                    {
                        throw new GeminiRequestException($"The tool result '{m.ToolCallId}' answers no earlier assistant tool call, and Gemini needs the function's name.");
                    }

                    var result = m.Text;
                    parts.Add(w => WriteFunctionResponse(w, name, result));
                    break;
                default:
                    throw new GeminiRequestException($"Gemini has no equivalent of the message role '{m.Role}'.");
            }

            if (parts.Count == 0)
            {
                continue; // Gemini rejects a turn without parts
            }

            if (turns.Count > 0 && turns[^1].Role == role)
            {
                turns[^1].Parts.AddRange(parts);
            }
            else
            {
                turns.Add(new Turn(role, parts));
            }
        }

        return (system, turns);
    }

    private static void AddContent(List<Action<Utf8JsonWriter>> parts, RouterMessage m)
    {
        foreach (var part in m.Content)
        {
            if (part.Kind == ContentPartKind.Text)
            {
                if (part.Text is { Length: > 0 } text)
                {
                    parts.Add(w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("text", text);
                        w.WriteEndObject();
                    });
                }

                continue;
            }

            if (part.Kind == ContentPartKind.Document)
            {
                throw new GeminiRequestException("PDF documents are not passed to Gemini by this gateway; route them to a model with the documents capability.");
            }

            var (mimeType, data) = InlineImage(part.ImageUrl);
            parts.Add(w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("inlineData");
                w.WriteString("mimeType", mimeType);
                w.WriteString("data", data);
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }
    }

    /// <summary>
    /// A base64 data URI split into mime type and data. Gemini's documented part types take images inline only
    /// (<c>fileData</c> needs a file uploaded to Google first), so a web URL is refused here rather than sent. The URL
    /// is not quoted in the message: signed URLs carry credentials.
    /// </summary>
    private static (string MimeType, string Data) InlineImage(string? url)
    {
        if (url is null || !url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            throw new GeminiRequestException("Gemini takes images only inline: send the image as a base64 data URI (data:image/png;base64,...); image URLs are not fetched.");
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma > 5 ? url[5..comma] : string.Empty;
        if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase) || header.Length == ";base64".Length)
        {
            throw new GeminiRequestException("An image data URI must name its mime type and be base64 encoded (data:image/png;base64,...).");
        }

        return (header[..^";base64".Length], url[(comma + 1)..]);
    }

    private static void WriteFunctionCall(Utf8JsonWriter w, ToolCall call, string? thoughtSignature)
    {
        w.WriteStartObject();
        w.WriteStartObject("functionCall");
        w.WriteString("name", call.Name);
        w.WritePropertyName("args");
        WriteJsonObject(w, call.ArgumentsJson);
        w.WriteEndObject();
        if (thoughtSignature is not null)
        {
            w.WriteString("thoughtSignature", thoughtSignature);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// <c>functionResponse.response</c> must be a JSON object: an object result is sent as it is, anything else
    /// (other JSON, plain text) under <c>output</c>, the key Gemini's SDKs use.
    /// </summary>
    private static void WriteFunctionResponse(Utf8JsonWriter w, string name, string result)
    {
        w.WriteStartObject();
        w.WriteStartObject("functionResponse");
        w.WriteString("name", name);
        w.WritePropertyName("response");
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.Parse(result);
        }
        catch (JsonException)
        {
        }

        using (doc)
        {
            if (doc?.RootElement.ValueKind == JsonValueKind.Object)
            {
                doc.RootElement.WriteTo(w);
            }
            else
            {
                w.WriteStartObject();
                if (doc is null)
                {
                    w.WriteString("output", result);
                }
                else
                {
                    w.WritePropertyName("output");
                    doc.RootElement.WriteTo(w);
                }

                w.WriteEndObject();
            }
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Writes JSON object text, or <c>{}</c> when it is not one (tool arguments are always objects).</summary>
    private static void WriteJsonObject(Utf8JsonWriter w, string? json)
    {
        if (!string.IsNullOrWhiteSpace(json))
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    doc.RootElement.WriteTo(w);
                    return;
                }
            }
            catch (JsonException)
            {
            }
        }

        w.WriteStartObject();
        w.WriteEndObject();
    }

    private static void WriteSchema(Utf8JsonWriter w, string schema, string what)
    {
        try
        {
            w.WriteRawValue(schema);
        }
        catch (JsonException)
        {
            throw new GeminiRequestException($"The JSON schema of {what} is not valid JSON.");
        }
    }

    /// <summary>
    /// <c>tools[].functionDeclarations</c> with the JSON schema in <c>parametersJsonSchema</c> (full JSON Schema, unlike
    /// the OpenAPI subset of <c>parameters</c>), and <c>tool_choice</c> as <c>toolConfig.functionCallingConfig</c>:
    /// auto → AUTO, required → ANY, none → NONE, a function name → ANY restricted to that name.
    /// </summary>
    private static void WriteTools(Utf8JsonWriter w, ChatRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        w.WriteStartArray("tools");
        w.WriteStartObject();
        w.WriteStartArray("functionDeclarations");
        foreach (var t in tools)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            if (t.Description is { } d)
            {
                w.WriteString("description", d);
            }

            if (t.ParametersJson is { } p)
            {
                w.WritePropertyName("parametersJsonSchema");
                WriteSchema(w, p, $"the parameters of tool '{t.Name}'");
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        if (request.ToolChoice is not { } choice)
        {
            return;
        }

        w.WriteStartObject("toolConfig");
        w.WriteStartObject("functionCallingConfig");
        switch (choice)
        {
            case "auto":
                w.WriteString("mode", "AUTO");
                break;
            case "none":
                w.WriteString("mode", "NONE");
                break;
            case "required":
                w.WriteString("mode", "ANY");
                break;
            default:
                w.WriteString("mode", "ANY");
                w.WriteStartArray("allowedFunctionNames");
                w.WriteStringValue(choice);
                w.WriteEndArray();
                break;
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteGenerationConfig(Utf8JsonWriter w, ChatRequest request)
    {
        var format = request.ResponseFormat?.Kind ?? ResponseFormatKind.Text;
        if (request.Temperature is null && request.TopP is null && request.MaxOutputTokens is null && request.Stop is not { Count: > 0 }
            && request.Seed is null && format == ResponseFormatKind.Text)
        {
            return;
        }

        w.WriteStartObject("generationConfig");
        if (request.Temperature is { } t)
        {
            w.WriteNumber("temperature", t);
        }

        if (request.TopP is { } p)
        {
            w.WriteNumber("topP", p);
        }

        if (request.MaxOutputTokens is { } max)
        {
            w.WriteNumber("maxOutputTokens", max);
        }

        WireHelpers.WriteStop(w, "stopSequences", request.Stop);

        if (request.Seed is { } seed)
        {
            w.WriteNumber("seed", seed);
        }

        if (format != ResponseFormatKind.Text)
        {
            w.WriteString("responseMimeType", JsonMimeType);
        }

        if (format == ResponseFormatKind.JsonSchema && request.ResponseFormat?.SchemaJson is { } schema)
        {
            w.WritePropertyName("responseJsonSchema");
            WriteSchema(w, schema, "the response format's schema");
        }

        w.WriteEndObject();
    }
}
