using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Providers.Simulated;

/// <summary>Builds deterministic replies from a request: text, JSON that fits the requested schema, or tool calls.</summary>
internal static class SimulatedReplies
{
    public static (RouterMessage Message, string FinishReason, TokenUsage Usage) Reply(ChatRequest request, string providerModel)
    {
        var prompt = EstimatePrompt(request);
        var last = request.Messages.Count > 0 ? request.Messages[^1] : null;
        var tools = request.Tools;
        if (tools is { Count: > 0 } && request.ToolChoice != "none" && last?.Role != "tool")
        {
            var tool = request.ToolChoice is { } forced && forced is not ("auto" or "required")
                ? tools.FirstOrDefault(t => t.Name == forced) ?? tools[0]
                : tools[0];
            var args = ExampleJson(tool.ParametersJson, request);
            var id = "call_" + Hash(providerModel + args).ToString("x8", CultureInfo.InvariantCulture);
            var call = new ToolCall(id, tool.Name, args);
            var message = new RouterMessage("assistant", [], ToolCalls: [call]);
            return (message, "tool_calls", new TokenUsage(prompt, TokenEstimator.EstimateText(tool.Name + args) + 3));
        }

        string text;
        if (request.ResponseFormat is { Kind: ResponseFormatKind.JsonSchema } schema)
        {
            text = ExampleJson(schema.SchemaJson, request);
        }
        else if (request.ResponseFormat is { Kind: ResponseFormatKind.JsonObject })
        {
            text = JsonSerializer.Serialize(new Dictionary<string, string> { ["reply"] = TextReply(request, providerModel) }, SimulatedJson.Default.DictionaryStringString);
        }
        else
        {
            text = TextReply(request, providerModel);
        }

        var finish = "stop";
        var completion = TokenEstimator.EstimateText(text);
        if (request.MaxOutputTokens is { } max && completion > max && request.ResponseFormat is null)
        {
            text = text[..Math.Min(text.Length, max * 4)];
            completion = TokenEstimator.EstimateText(text);
            finish = "length";
        }

        return (RouterMessage.FromText("assistant", text), finish, new TokenUsage(prompt, completion));
    }

    public static long EstimatePrompt(ChatRequest request) =>
        TokenEstimator.EstimatePrompt(Common.PromptParts.Of(request.Messages), Common.PromptParts.ToolsText(request));

    private static string TextReply(ChatRequest request, string providerModel)
    {
        var user = request.Messages.LastOrDefault(m => m.Role is "user" or "tool");
        var said = user?.Text ?? string.Empty;
        var words = said.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        var quote = said.Length > 160 ? said[..160] + "…" : said;
        var images = request.Messages.Sum(m => m.Content.Count(p => p.Kind == ContentPartKind.Image));
        var documents = request.Messages.Sum(m => m.Content.Count(p => p.Kind == ContentPartKind.Document));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[{providerModel}] ");
        sb.Append(user?.Role == "tool" ? "Tool result received: \"" : "You said: \"").Append(quote).Append('"');
        sb.Append(CultureInfo.InvariantCulture, $" ({words} words");
        if (images > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", {images} image(s)");
        }

        if (documents > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $", {documents} document(s)");
        }

        sb.Append(CultureInfo.InvariantCulture, $"). Reference {Hash(said):x8}.");
        return sb.ToString();
    }

    /// <summary>A JSON value that satisfies a (subset of) JSON schema: objects, arrays, enums, primitive types.</summary>
    public static string ExampleJson(string? schemaJson, ChatRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (string.IsNullOrWhiteSpace(schemaJson))
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                using var doc = JsonDocument.Parse(schemaJson);
                WriteExample(writer, doc.RootElement, request, 0);
            }
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteExample(Utf8JsonWriter w, JsonElement schema, ChatRequest request, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 8)
        {
            w.WriteNullValue();
            return;
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            constant.WriteTo(w);
            return;
        }

        if (schema.TryGetProperty("enum", out var e) && e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0)
        {
            e[0].WriteTo(w);
            return;
        }

        foreach (var key in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
        {
            if (schema.TryGetProperty(key, out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
            {
                WriteExample(w, options[0], request, depth + 1);
                return;
            }
        }

        var type = schema.TryGetProperty("type", out var t)
            ? t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()).FirstOrDefault(x => x != "null") : t.GetString()
            : schema.TryGetProperty("properties", out _) ? "object" : "string";
        switch (type)
        {
            case "object":
                w.WriteStartObject();
                if (schema.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in props.EnumerateObject())
                    {
                        w.WritePropertyName(p.Name);
                        WriteExample(w, p.Value, request, depth + 1);
                    }
                }

                w.WriteEndObject();
                break;
            case "array":
                w.WriteStartArray();
                var count = schema.TryGetProperty("minItems", out var min) && min.TryGetInt32(out var n) ? Math.Max(1, n) : 1;
                for (var i = 0; i < count; i++)
                {
                    WriteExample(w, schema.TryGetProperty("items", out var items) ? items : default, request, depth + 1);
                }

                w.WriteEndArray();
                break;
            case "integer":
                w.WriteNumberValue(schema.TryGetProperty("minimum", out var imin) && imin.TryGetInt64(out var il) ? il : 1);
                break;
            case "number":
                w.WriteNumberValue(schema.TryGetProperty("minimum", out var nmin) && nmin.TryGetDouble(out var nd) ? nd : 1.5);
                break;
            case "boolean":
                w.WriteBooleanValue(true);
                break;
            case "null":
                w.WriteNullValue();
                break;
            default:
                var said = request.Messages.LastOrDefault(m => m.Role == "user")?.Text ?? "sample";
                w.WriteStringValue(said.Length > 40 ? said[..40] : said);
                break;
        }
    }

    /// <summary>FNV-1a: stable across processes (string.GetHashCode is randomised).</summary>
    public static uint Hash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
