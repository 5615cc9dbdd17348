using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;
using static Orleans.LlmRouter.Host.Surfaces.SurfaceJson;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>
/// Parses an Anthropic Messages body (<c>POST /v1/messages</c>, <c>/v1/messages/count_tokens</c>) into the one request
/// model: <c>system</c> (a string or text blocks) becomes a system message; content blocks become parts
/// (<c>text</c>, <c>image</c> from base64 or a URL, a PDF <c>document</c> from base64 or a URL, a plain-text
/// <c>document</c> as text), <c>tool_use</c> blocks an assistant's
/// tool calls and <c>tool_result</c> blocks tool messages; <c>thinking</c> blocks passed back are accepted and dropped.
/// Every shape error names the field and is a 400 <c>invalid_request_error</c>. Unknown fields are ignored; parameters
/// the gateway accepts but does not pass on (<c>top_k</c>, server tools) are listed as warnings; <c>cache_control</c>
/// breakpoints ride on the parts and tools and reach Anthropic models; <c>thinking</c> and <c>output_config.effort</c> reach models with the <c>reasoning</c> capability.
/// </summary>
internal static class AnthropicRequestParser
{
    public static ParsedAnthropicRequest Parse(JsonElement root, bool countOnly = false)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(null, "The request body must be a JSON object.");
        }

        var warnings = new List<string>();
        var model = OptionalString(root, "model", "model") ?? throw new InvalidRequestException("model", "model: Field required");
        int? maxTokens = OptionalInt(root, "max_tokens", 1);
        if (maxTokens is null && !countOnly)
        {
            throw new InvalidRequestException("max_tokens", "max_tokens: Field required");
        }

        var messages = new List<RouterMessage>();
        ParseSystem(root, messages, warnings);
        if (!root.TryGetProperty("messages", out var messagesEl) || messagesEl.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("messages", "messages: Field required (an array of messages)");
        }

        var index = 0;
        foreach (var m in messagesEl.EnumerateArray())
        {
            ParseMessage(m, $"messages.{index++}", messages, warnings);
        }

        if (!messages.Any(m => m.Role != "system"))
        {
            throw new InvalidRequestException("messages", "messages: at least one message is required");
        }

        if (root.TryGetProperty("top_k", out var topK) && topK.ValueKind != JsonValueKind.Null)
        {
            if (topK.ValueKind != JsonValueKind.Number || !topK.TryGetInt32(out var k) || k < 0)
            {
                throw new InvalidRequestException("top_k", "top_k: must be a non-negative integer");
            }

            warnings.Add("top_k is not supported by the gateway and was ignored");
        }

        int? thinkingBudget = null;
        if (root.TryGetProperty("thinking", out var thinking) && thinking.ValueKind == JsonValueKind.Object)
        {
            switch (OptionalString(thinking, "type", "thinking.type"))
            {
                case "enabled":
                    thinkingBudget = OptionalInt(thinking, "budget_tokens", 1024) ?? throw new InvalidRequestException("thinking.budget_tokens", "thinking.budget_tokens: Field required (at least 1024)");
                    break;
                case "adaptive":
                    thinkingBudget = 4096;
                    break;
            }
        }

        var request = new ChatRequest(messages)
        {
            ResponseFormat = ParseOutputFormat(root, out var effort),
            ThinkingBudgetTokens = thinkingBudget,
            Temperature = OptionalNumber(root, "temperature", 0, 1),
            TopP = OptionalNumber(root, "top_p", 0, 1),
            MaxOutputTokens = maxTokens,
            Stop = ParseStop(root),
            Tools = ParseTools(root, warnings),
            ToolChoice = ParseToolChoice(root),
            ReasoningEffort = effort,
            User = root.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object ? OptionalString(md, "user_id", "metadata.user_id") : null,
        };

        return new ParsedAnthropicRequest(request, model, OptionalBool(root, "stream", "stream") ?? false, warnings) { CacheControl = HasCacheControl(root) };
    }

    /// <summary>Structured output: <c>output_config.format</c> (or the older <c>output_format</c>) <c>{"type":"json_schema","schema":{…}}</c>.</summary>
    private static ResponseFormat? ParseOutputFormat(JsonElement root, out string? effort)
    {
        JsonElement format = default;
        var path = "output_config.format";
        effort = null;
        if (root.TryGetProperty("output_config", out var config) && config.ValueKind == JsonValueKind.Object)
        {
            effort = OptionalString(config, "effort", "output_config.effort") switch
            {
                null => null,
                var e when e is "low" or "medium" or "high" => e,
                "max" => "high",
                var other => throw new InvalidRequestException("output_config.effort", $"output_config.effort: Input should be 'low', 'medium', 'high' or 'max', not '{other}'"),
            };
            config.TryGetProperty("format", out format);
        }

        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null && root.TryGetProperty("output_format", out format))
        {
            path = "output_format";
        }

        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object || OptionalString(format, "type", $"{path}.type") != "json_schema"
            || !format.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(path, $"{path}: must be {{\"type\":\"json_schema\",\"schema\":{{…}}}}");
        }

        return new ResponseFormat(ResponseFormatKind.JsonSchema, "output", schema.GetRawText(), Strict: true);
    }

    private static void ParseSystem(JsonElement root, List<RouterMessage> messages, List<string> warnings)
    {
        if (!root.TryGetProperty("system", out var system) || system.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        switch (system.ValueKind)
        {
            case JsonValueKind.String:
                if (system.GetString() is { Length: > 0 } text)
                {
                    messages.Add(RouterMessage.FromText("system", text));
                }

                return;
            case JsonValueKind.Array:
                var parts = new List<ContentPart>();
                var i = 0;
                foreach (var block in system.EnumerateArray())
                {
                    var path = $"system.{i++}";
                    if (block.ValueKind != JsonValueKind.Object || OptionalString(block, "type", $"{path}.type") != "text")
                    {
                        throw new InvalidRequestException(path, $"{path}: system blocks must be text blocks");
                    }

                    parts.Add(ContentPart.FromText(OptionalString(block, "text", $"{path}.text") ?? throw new InvalidRequestException($"{path}.text", $"{path}.text: Field required")) with { CacheControlJson = CacheControl(block) });
                }

                // Blocks with a cache breakpoint stay apart (the Anthropic adapter sends them as blocks); otherwise one text.
                if (parts.Any(p => p.CacheControlJson is not null))
                {
                    messages.Add(new RouterMessage("system", parts));
                }
                else if (parts.Count > 0)
                {
                    messages.Add(new RouterMessage("system", [ContentPart.FromText(string.Join("\n\n", parts.Select(p => p.Text)))]));
                }

                return;
            default:
                throw new InvalidRequestException("system", "system: must be a string or an array of text blocks");
        }
    }

    private static void ParseMessage(JsonElement m, string path, List<RouterMessage> messages, List<string> warnings)
    {
        if (m.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException(path, $"{path}: must be an object");
        }

        var role = OptionalString(m, "role", $"{path}.role");
        if (role is not ("user" or "assistant" or "system"))
        {
            throw new InvalidRequestException($"{path}.role", $"{path}.role: Input should be 'user', 'assistant' or 'system'");
        }

        if (!m.TryGetProperty("content", out var content))
        {
            throw new InvalidRequestException($"{path}.content", $"{path}.content: Field required");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            messages.Add(RouterMessage.FromText(role, content.GetString()!));
            return;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException($"{path}.content", $"{path}.content: must be a string or an array of content blocks");
        }

        if (role == "system")
        {
            var texts = content.EnumerateArray().Select((b, i) => b.ValueKind == JsonValueKind.Object && OptionalString(b, "type", $"{path}.content.{i}.type") == "text"
                ? OptionalString(b, "text", $"{path}.content.{i}.text") ?? string.Empty
                : throw new InvalidRequestException($"{path}.content.{i}", $"{path}.content.{i}: system messages hold text blocks only"));
            messages.Add(RouterMessage.FromText("system", string.Join("\n\n", texts)));
            return;
        }

        var parts = new List<ContentPart>();
        var calls = new List<ToolCall>();
        var i = 0;
        foreach (var block in content.EnumerateArray())
        {
            var bp = $"{path}.content.{i++}";
            if (block.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException(bp, $"{bp}: must be an object");
            }

            switch (OptionalString(block, "type", $"{bp}.type"))
            {
                case "text":
                    parts.Add(ContentPart.FromText(OptionalString(block, "text", $"{bp}.text") ?? throw new InvalidRequestException($"{bp}.text", $"{bp}.text: Field required")) with { CacheControlJson = CacheControl(block) });
                    break;
                case "image" when role == "user":
                    parts.Add(ParseImage(block, bp) with { CacheControlJson = CacheControl(block) });
                    break;
                case "image":
                    throw new InvalidRequestException(bp, $"{bp}: image blocks are only allowed in user messages");
                case "document":
                    parts.Add(ParseDocument(block, bp, role, warnings) with { CacheControlJson = CacheControl(block) });
                    break;
                case "tool_use" when role == "assistant":
                    var id = OptionalString(block, "id", $"{bp}.id") ?? throw new InvalidRequestException($"{bp}.id", $"{bp}.id: Field required");
                    var name = OptionalString(block, "name", $"{bp}.name") ?? throw new InvalidRequestException($"{bp}.name", $"{bp}.name: Field required");
                    var input = block.TryGetProperty("input", out var inp) && inp.ValueKind == JsonValueKind.Object ? inp.GetRawText() : "{}";
                    calls.Add(new ToolCall(id, name, input));
                    break;
                case "tool_use":
                    throw new InvalidRequestException(bp, $"{bp}: tool_use blocks are only allowed in assistant messages");
                case "tool_result" when role == "user":
                    // A tool result is a message of its own in the request model, before the rest of this user turn.
                    FlushUser(messages, parts);
                    messages.Add(ParseToolResult(block, bp));
                    break;
                case "tool_result":
                    throw new InvalidRequestException(bp, $"{bp}: tool_result blocks are only allowed in user messages");
                case "thinking" or "redacted_thinking":
                    break; // passed back by clients that keep the conversation; not forwarded
                case "server_tool_use" or "web_search_tool_result" or "search_result":
                    warnings.Add($"{bp}: {OptionalString(block, "type", $"{bp}.type")} blocks are not supported by the gateway and were ignored");
                    break;
                case var other:
                    throw new InvalidRequestException($"{bp}.type", $"{bp}.type: unknown content block type '{other}'");
            }
        }

        if (role == "assistant")
        {
            if (parts.Count > 0 || calls.Count > 0)
            {
                messages.Add(new RouterMessage("assistant", parts, ToolCalls: calls.Count > 0 ? calls : null));
            }

            return;
        }

        FlushUser(messages, parts);
    }

    private static void FlushUser(List<RouterMessage> messages, List<ContentPart> parts)
    {
        if (parts.Count > 0)
        {
            messages.Add(new RouterMessage("user", [.. parts]));
            parts.Clear();
        }
    }

    private static RouterMessage ParseToolResult(JsonElement block, string path)
    {
        var id = OptionalString(block, "tool_use_id", $"{path}.tool_use_id") ?? throw new InvalidRequestException($"{path}.tool_use_id", $"{path}.tool_use_id: Field required");
        var text = string.Empty;
        if (block.TryGetProperty("content", out var c))
        {
            switch (c.ValueKind)
            {
                case JsonValueKind.String:
                    text = c.GetString()!;
                    break;
                case JsonValueKind.Array:
                    var texts = new List<string>();
                    var i = 0;
                    foreach (var inner in c.EnumerateArray())
                    {
                        var ip = $"{path}.content.{i++}";
                        var type = inner.ValueKind == JsonValueKind.Object ? OptionalString(inner, "type", $"{ip}.type") : null;
                        texts.Add(type switch
                        {
                            "text" => OptionalString(inner, "text", $"{ip}.text") ?? string.Empty,
                            "image" => "[image]",
                            _ => throw new InvalidRequestException(ip, $"{ip}: tool_result content must be text or image blocks"),
                        });
                    }

                    text = string.Join("\n", texts);
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw new InvalidRequestException($"{path}.content", $"{path}.content: must be a string or an array of blocks");
            }
        }

        if (OptionalBool(block, "is_error", $"{path}.is_error") == true)
        {
            text = "Error: " + text;
        }

        return new RouterMessage("tool", [ContentPart.FromText(text.Length > 0 ? text : "(empty)") with { CacheControlJson = CacheControl(block) }], ToolCallId: id);
    }

    private static ContentPart ParseImage(JsonElement block, string path)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException($"{path}.source", $"{path}.source: Field required");
        }

        switch (OptionalString(source, "type", $"{path}.source.type"))
        {
            case "base64":
                var media = OptionalString(source, "media_type", $"{path}.source.media_type");
                if (media is not ("image/jpeg" or "image/png" or "image/gif" or "image/webp"))
                {
                    throw new InvalidRequestException($"{path}.source.media_type", $"{path}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'");
                }

                var data = OptionalString(source, "data", $"{path}.source.data") ?? throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: Field required");
                var buffer = new byte[(data.Length * 3 / 4) + 3];
                if (data.Length == 0 || !Convert.TryFromBase64String(data, buffer, out _))
                {
                    throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: invalid base64 data");
                }

                return ContentPart.FromImage($"data:{media};base64,{data}");
            case "url":
                var url = OptionalString(source, "url", $"{path}.source.url") ?? throw new InvalidRequestException($"{path}.source.url", $"{path}.source.url: Field required");
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                {
                    throw new InvalidRequestException($"{path}.source.url", $"{path}.source.url: must be an http(s) URL");
                }

                return ContentPart.FromImage(url);
            case var other:
                throw new InvalidRequestException($"{path}.source.type", $"{path}.source.type: image sources are 'base64' or 'url', not '{other}'");
        }
    }

    /// <summary>
    /// A <c>document</c> block: a PDF (<c>source.type</c> <c>base64</c> with <c>media_type</c> <c>application/pdf</c>,
    /// or <c>url</c>) becomes a document part, which only models with the <c>documents</c> capability take; a plain-text
    /// document (<c>text</c>, or <c>content</c> of text blocks) becomes text, for every model, with its title first.
    /// <c>citations</c> and <c>context</c> are not passed on (a warning says so); a <c>file</c> source (Anthropic's Files
    /// API) is refused.
    /// </summary>
    private static ContentPart ParseDocument(JsonElement block, string path, string role, List<string> warnings)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException($"{path}.source", $"{path}.source: Field required");
        }

        var title = OptionalString(block, "title", $"{path}.title");
        if (block.TryGetProperty("citations", out var citations) && citations.ValueKind == JsonValueKind.Object && OptionalBool(citations, "enabled", $"{path}.citations.enabled") == true)
        {
            warnings.Add($"{path}: document citations are not supported by the gateway and were not asked for");
        }

        if (OptionalString(block, "context", $"{path}.context") is { Length: > 0 })
        {
            warnings.Add($"{path}: document context is not supported by the gateway and was ignored");
        }

        var type = OptionalString(source, "type", $"{path}.source.type");
        if (type is "base64" or "url" && role != "user")
        {
            throw new InvalidRequestException(path, $"{path}: document blocks are only allowed in user messages");
        }

        switch (type)
        {
            case "text":
                var data = OptionalString(source, "data", $"{path}.source.data") ?? throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: Field required");
                return ContentPart.FromText(title is null ? data : $"{title}\n\n{data}");
            case "content":
                if (!source.TryGetProperty("content", out var inner) || inner.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                {
                    throw new InvalidRequestException($"{path}.source.content", $"{path}.source.content: Field required (a string or text blocks)");
                }

                var text = inner.ValueKind == JsonValueKind.String
                    ? inner.GetString()!
                    : string.Join("\n\n", inner.EnumerateArray().Select((b, i) => b.ValueKind == JsonValueKind.Object && OptionalString(b, "type", $"{path}.source.content.{i}.type") == "text"
                        ? OptionalString(b, "text", $"{path}.source.content.{i}.text") ?? string.Empty
                        : throw new InvalidRequestException($"{path}.source.content.{i}", $"{path}.source.content.{i}: the gateway takes text blocks only in a content document")));
                return ContentPart.FromText(title is null ? text : $"{title}\n\n{text}");
            case "base64":
                var media = OptionalString(source, "media_type", $"{path}.source.media_type");
                if (media != "application/pdf")
                {
                    throw new InvalidRequestException($"{path}.source.media_type", $"{path}.source.media_type: Input should be 'application/pdf'");
                }

                var pdf = OptionalString(source, "data", $"{path}.source.data") ?? throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: Field required");
                if (pdf.Length == 0 || !System.Buffers.Text.Base64.IsValid(pdf))
                {
                    throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: invalid base64 data");
                }

                if (!IsPdf(pdf))
                {
                    throw new InvalidRequestException($"{path}.source.data", $"{path}.source.data: the data is not a PDF (it does not start with %PDF-)");
                }

                return ContentPart.FromDocument(media, pdf, title);
            case "url":
                var url = OptionalString(source, "url", $"{path}.source.url") ?? throw new InvalidRequestException($"{path}.source.url", $"{path}.source.url: Field required");
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                {
                    throw new InvalidRequestException($"{path}.source.url", $"{path}.source.url: must be an http(s) URL");
                }

                return ContentPart.FromDocumentUrl(url, title);
            case "file":
                throw new InvalidRequestException($"{path}.source.type", $"{path}.source.type: 'file' sources need Anthropic's Files API, which the gateway does not pass on; send the PDF as base64 or by URL");
            case var other:
                throw new InvalidRequestException($"{path}.source.type", $"{path}.source.type: document sources are 'base64', 'url', 'text' or 'content', not '{other}'");
        }
    }

    /// <summary>True when base64 <paramref name="data"/> starts with the PDF header <c>%PDF-</c>.</summary>
    private static bool IsPdf(string data)
    {
        Span<byte> head = stackalloc byte[6];
        return data.Length >= 8 && Convert.TryFromBase64Chars(data.AsSpan(0, 8), head, out var n) && n == 6 && head[..5].SequenceEqual("%PDF-"u8);
    }

    private static List<string>? ParseStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop_sequences", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (stop.ValueKind != JsonValueKind.Array || stop.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw new InvalidRequestException("stop_sequences", "stop_sequences: must be an array of strings");
        }

        var list = stop.EnumerateArray().Select(s => s.GetString()!).Where(s => s.Length > 0).ToList();
        return list.Count == 0 ? null : list;
    }

    private static List<ToolDefinition>? ParseTools(JsonElement root, List<string> warnings)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException("tools", "tools: must be an array");
        }

        var list = new List<ToolDefinition>();
        var i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            var path = $"tools.{i++}";
            if (t.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException(path, $"{path}: must be an object");
            }

            var type = OptionalString(t, "type", $"{path}.type");
            var name = OptionalString(t, "name", $"{path}.name") ?? throw new InvalidRequestException($"{path}.name", $"{path}.name: Field required");
            if (type is not (null or "custom"))
            {
                // Anthropic's server and client-side built-in tools (web_search_…, bash_…, text_editor_…) exist only there.
                warnings.Add($"tool '{name}' of type '{type}' is an Anthropic built-in tool and was not passed on");
                continue;
            }

            if (!t.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException($"{path}.input_schema", $"{path}.input_schema: Field required (a JSON schema object)");
            }

            list.Add(new ToolDefinition(name, OptionalString(t, "description", $"{path}.description"), schema.GetRawText(), OptionalBool(t, "strict", $"{path}.strict") ?? false) { CacheControlJson = CacheControl(t) });
        }

        return list.Count == 0 ? null : list;
    }

    private static string? ParseToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var tc) || tc.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tc.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("tool_choice", "tool_choice: must be an object with a 'type'");
        }

        return OptionalString(tc, "type", "tool_choice.type") switch
        {
            "auto" => "auto",
            "any" => "required",
            "none" => "none",
            "tool" => OptionalString(tc, "name", "tool_choice.name") ?? throw new InvalidRequestException("tool_choice.name", "tool_choice.name: Field required"),
            var other => throw new InvalidRequestException("tool_choice.type", $"tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', not '{other}'"),
        };
    }

    /// <summary>A block's <c>cache_control</c> object as sent, or null.</summary>
    private static string? CacheControl(JsonElement block) =>
        block.TryGetProperty("cache_control", out var cc) && cc.ValueKind == JsonValueKind.Object ? cc.GetRawText() : null;

    private static bool HasCacheControl(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (p.NameEquals("cache_control") || (p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && !p.NameEquals("input_schema") && HasCacheControl(p.Value)))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                return element.EnumerateArray().Any(HasCacheControl);
            default:
                return false;
        }
    }
}
