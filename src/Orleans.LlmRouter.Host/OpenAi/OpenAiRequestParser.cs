using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// Parses an OpenAI Chat Completions body into a provider-neutral <see cref="ChatRequest"/>, validating as it goes:
/// every shape error names the field (<c>messages[1].content[0].image_url</c>) and becomes a 400. Unknown fields are
/// ignored, as OpenAI's own clients add new ones over time.
/// </summary>
internal static class OpenAiRequestParser
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    public static ParsedChatRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(null, "The request body must be a JSON object.");
        }

        var model = OptionalString(root, "model");
        if (!root.TryGetProperty("messages", out var messagesEl))
        {
            throw new InvalidRequestException("messages", "Missing required parameter: 'messages'.");
        }

        if (messagesEl.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("messages", "'messages' must be an array.");
        }

        var messages = new List<RouterMessage>(messagesEl.GetArrayLength());
        var index = 0;
        foreach (var m in messagesEl.EnumerateArray())
        {
            messages.Add(ParseMessage(m, $"messages[{index++}]"));
        }

        if (messages.Count == 0)
        {
            throw new InvalidRequestException("messages", "'messages' must contain at least one message.");
        }

        var maxCompletion = OptionalInt(root, "max_completion_tokens", 1);
        var maxTokens = OptionalInt(root, "max_tokens", 1);
        var request = new ChatRequest(messages)
        {
            Temperature = OptionalNumber(root, "temperature", 0, 2),
            TopP = OptionalNumber(root, "top_p", 0, 1),
            MaxOutputTokens = maxCompletion ?? maxTokens,
            Stop = ParseStop(root),
            ResponseFormat = ParseResponseFormat(root),
            Tools = ParseTools(root),
            ToolChoice = ParseToolChoice(root),
            Seed = root.TryGetProperty("seed", out var seed) && seed.ValueKind != JsonValueKind.Null
                ? seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out var s) ? s : throw new InvalidRequestException("seed", "'seed' must be an integer.")
                : null,
            User = OptionalString(root, "user"),
            Metadata = ParseMetadata(root),
        };

        var n = OptionalInt(root, "n", 1);
        if (n is > 1)
        {
            throw new InvalidRequestException("n", "Only n=1 is supported.");
        }

        var stream = OptionalBool(root, "stream") ?? false;
        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException("stream_options", "'stream_options' must be an object.");
            }

            includeUsage = OptionalBool(so, "include_usage", "stream_options.include_usage") ?? false;
        }

        return new ParsedChatRequest(request, model, stream, includeUsage);
    }

    private static RouterMessage ParseMessage(JsonElement m, string path)
    {
        if (m.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(path, $"'{path}' must be an object.");
        }

        var role = OptionalString(m, "role", $"{path}.role") ?? throw new InvalidRequestException($"{path}.role", $"Missing required parameter: '{path}.role'.");
        if (!Roles.Contains(role))
        {
            throw new InvalidRequestException($"{path}.role", $"Invalid value '{role}' for '{path}.role': expected one of system, developer, user, assistant, tool.");
        }

        var content = new List<ContentPart>();
        if (m.TryGetProperty("content", out var c))
        {
            switch (c.ValueKind)
            {
                case JsonValueKind.String:
                    content.Add(ContentPart.FromText(c.GetString()!));
                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var part in c.EnumerateArray())
                    {
                        content.Add(ParsePart(part, $"{path}.content[{i++}]", role));
                    }

                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw new InvalidRequestException($"{path}.content", $"'{path}.content' must be a string, an array of content parts, or null.");
            }
        }

        IReadOnlyList<ToolCall>? toolCalls = null;
        if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind != JsonValueKind.Null)
        {
            if (role != "assistant" || tc.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidRequestException($"{path}.tool_calls", $"'{path}.tool_calls' must be an array on an assistant message.");
            }

            var calls = new List<ToolCall>();
            var i = 0;
            foreach (var call in tc.EnumerateArray())
            {
                var cp = $"{path}.tool_calls[{i++}]";
                if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestException(cp, $"'{cp}' must be an object with a 'function'.");
                }

                calls.Add(new ToolCall(
                    OptionalString(call, "id", $"{cp}.id") ?? throw new InvalidRequestException($"{cp}.id", $"Missing required parameter: '{cp}.id'."),
                    OptionalString(fn, "name", $"{cp}.function.name") ?? throw new InvalidRequestException($"{cp}.function.name", $"Missing required parameter: '{cp}.function.name'."),
                    OptionalString(fn, "arguments", $"{cp}.function.arguments") ?? "{}"));
            }

            toolCalls = calls;
        }

        var toolCallId = OptionalString(m, "tool_call_id", $"{path}.tool_call_id");
        if (role == "tool" && toolCallId is null)
        {
            throw new InvalidRequestException($"{path}.tool_call_id", $"Missing required parameter: '{path}.tool_call_id' (required for role 'tool').");
        }

        if (content.Count == 0 && toolCalls is null)
        {
            throw new InvalidRequestException($"{path}.content", $"'{path}.content' must not be empty.");
        }

        return new RouterMessage(role, content, OptionalString(m, "name", $"{path}.name"), toolCallId, toolCalls);
    }

    private static ContentPart ParsePart(JsonElement part, string path, string role)
    {
        if (part.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(path, $"'{path}' must be an object.");
        }

        var type = OptionalString(part, "type", $"{path}.type");
        switch (type)
        {
            case "text":
                return ContentPart.FromText(OptionalString(part, "text", $"{path}.text") ?? throw new InvalidRequestException($"{path}.text", $"Missing required parameter: '{path}.text'."));
            case "image_url" when role is "user":
                if (!part.TryGetProperty("image_url", out var img) || img.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestException($"{path}.image_url", $"'{path}.image_url' must be an object with a 'url'.");
                }

                var url = OptionalString(img, "url", $"{path}.image_url.url") ?? throw new InvalidRequestException($"{path}.image_url.url", $"Missing required parameter: '{path}.image_url.url'.");
                ValidateImageUrl(url, $"{path}.image_url.url");
                return ContentPart.FromImage(url, OptionalString(img, "detail", $"{path}.image_url.detail"));
            case "image_url":
                throw new InvalidRequestException($"{path}.type", $"Image parts are only allowed in user messages ('{path}').");
            default:
                throw new InvalidRequestException($"{path}.type", $"Invalid content part type '{type}' at '{path}': expected 'text' or 'image_url'.");
        }
    }

    private static void ValidateImageUrl(string url, string path)
    {
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 0 ? url[5..comma] : string.Empty;
            if (comma < 0 || !header.StartsWith("image/", StringComparison.Ordinal) || !header.EndsWith(";base64", StringComparison.Ordinal))
            {
                throw new InvalidRequestException(path, $"'{path}' must be a data URI of the form data:image/<type>;base64,<data>.");
            }

            var data = url.AsSpan(comma + 1);
            var buffer = new byte[(data.Length * 3 / 4) + 3];
            if (data.Length == 0 || !Convert.TryFromBase64Chars(data, buffer, out _))
            {
                throw new InvalidRequestException(path, $"'{path}' holds invalid base64 image data.");
            }

            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidRequestException(path, $"'{path}' must be an http(s) URL or a base64 data URI.");
        }
    }

    private static List<string>? ParseStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return [stop.GetString()!];
        }

        if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= 4 && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
        {
            return stop.EnumerateArray().Select(s => s.GetString()!).ToList();
        }

        throw new InvalidRequestException("stop", "'stop' must be a string or an array of at most 4 strings.");
    }

    private static ResponseFormat? ParseResponseFormat(JsonElement root)
    {
        if (!root.TryGetProperty("response_format", out var rf) || rf.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (rf.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("response_format", "'response_format' must be an object.");
        }

        switch (OptionalString(rf, "type", "response_format.type"))
        {
            case "text":
                return new ResponseFormat(ResponseFormatKind.Text);
            case "json_object":
                return new ResponseFormat(ResponseFormatKind.JsonObject);
            case "json_schema":
                if (!rf.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestException("response_format.json_schema", "'response_format.json_schema' must be an object with 'name' and 'schema'.");
                }

                var name = OptionalString(js, "name", "response_format.json_schema.name") ?? throw new InvalidRequestException("response_format.json_schema.name", "Missing required parameter: 'response_format.json_schema.name'.");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestException("response_format.json_schema.schema", "'response_format.json_schema.schema' must be a JSON schema object.");
                }

                return new ResponseFormat(ResponseFormatKind.JsonSchema, name, schema.GetRawText(), OptionalBool(js, "strict", "response_format.json_schema.strict") ?? false);
            case var other:
                throw new InvalidRequestException("response_format.type", $"Invalid value '{other}' for 'response_format.type': expected text, json_object or json_schema.");
        }
    }

    private static List<ToolDefinition>? ParseTools(JsonElement root)
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
            if (t.ValueKind != JsonValueKind.Object || OptionalString(t, "type", $"{path}.type") != "function"
                || !t.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException(path, $"'{path}' must be {{\"type\":\"function\",\"function\":{{...}}}}.");
            }

            var name = OptionalString(fn, "name", $"{path}.function.name") ?? throw new InvalidRequestException($"{path}.function.name", $"Missing required parameter: '{path}.function.name'.");
            string? parameters = null;
            if (fn.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                parameters = p.ValueKind == JsonValueKind.Object ? p.GetRawText() : throw new InvalidRequestException($"{path}.function.parameters", $"'{path}.function.parameters' must be a JSON schema object.");
            }

            list.Add(new ToolDefinition(name, OptionalString(fn, "description", $"{path}.function.description"), parameters, OptionalBool(fn, "strict", $"{path}.function.strict") ?? false));
        }

        return list;
    }

    private static string? ParseToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var tc) || tc.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tc.ValueKind == JsonValueKind.String && tc.GetString() is "none" or "auto" or "required")
        {
            return tc.GetString();
        }

        if (tc.ValueKind == JsonValueKind.Object && tc.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.Object
            && OptionalString(fn, "name", "tool_choice.function.name") is { } name)
        {
            return name;
        }

        throw new InvalidRequestException("tool_choice", "'tool_choice' must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":...}}.");
    }

    private static Dictionary<string, string>? ParseMetadata(JsonElement root)
    {
        if (!root.TryGetProperty("metadata", out var md) || md.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (md.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("metadata", "'metadata' must be an object of string values.");
        }

        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in md.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String || dict.Count >= 16)
            {
                throw new InvalidRequestException("metadata", "'metadata' holds at most 16 string values.");
            }

            dict[p.Name] = p.Value.GetString()!;
        }

        return dict;
    }

    private static string? OptionalString(JsonElement obj, string name, string? path = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new InvalidRequestException(path ?? name, $"'{path ?? name}' must be a string.");
    }

    private static bool? OptionalBool(JsonElement obj, string name, string? path = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidRequestException(path ?? name, $"'{path ?? name}' must be a boolean."),
        };
    }

    private static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d < min || d > max)
        {
            throw new InvalidRequestException(name, string.Create(CultureInfo.InvariantCulture, $"'{name}' must be a number from {min} to {max}."));
        }

        return d;
    }

    private static int? OptionalInt(JsonElement obj, string name, int min)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i) || i < min)
        {
            throw new InvalidRequestException(name, string.Create(CultureInfo.InvariantCulture, $"'{name}' must be an integer of at least {min}."));
        }

        return i;
    }
}
