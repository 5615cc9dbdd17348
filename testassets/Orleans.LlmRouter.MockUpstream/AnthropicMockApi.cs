using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Anthropic Messages API: <c>POST /v1/messages</c> (JSON, and SSE with named events: message_start, ping,
/// content_block_start/delta/stop, message_delta with cumulative usage, message_stop; an <c>error</c> event after a 200
/// for <c>midstream</c>), <c>GET /v1/models</c>. Requires <c>x-api-key</c> and <c>max_tokens</c> as the real API does.
/// <c>document</c> blocks are checked as the real API checks them (a malformed source is a 400 naming the field).
/// Scenarios as for OpenAI, plus <c>cache</c> (cache read/creation usage) and <c>refusal</c>; the faults
/// (malformed_json, missing_field / wrong_type for <c>content</c>, truncated without <c>message_stop</c>, stall, reset)
/// as described on <see cref="MockUpstreamServer"/>.
/// </summary>
internal sealed class AnthropicMockApi(MockUpstreamServer server) : MockApi(server)
{
    private static readonly string[] AnthropicModelIds = ["claude-mock-small", "claude-mock-large"];
    private static readonly string[] AnthropicToolArgumentPieces = [string.Empty, "{\"city\": ", "\"Lyon\"}"];

    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/v1/messages", http => AnthropicMessagesAsync(http, record));
    }

    internal static Task AnthropicModelsAsync(HttpContext http) => WriteJson(http, 200, w =>
    {
        w.WriteStartArray("data");
        foreach (var id in AnthropicModelIds)
        {
            w.WriteStartObject();
            w.WriteString("type", "model");
            w.WriteString("id", id);
            w.WriteString("display_name", id);
            w.WriteString("created_at", "2026-01-01T00:00:00Z");
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean("has_more", false);
        w.WriteString("first_id", "claude-mock-small");
        w.WriteString("last_id", "claude-mock-large");
    });

    private async Task AnthropicMessagesAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        if (!http.Request.Headers.ContainsKey("x-api-key"))
        {
            await AnthropicErrorAsync(http, 401, "authentication_error", "x-api-key header is required");
            return;
        }

        if (!root.TryGetProperty("max_tokens", out var maxTokens) || maxTokens.ValueKind != JsonValueKind.Number)
        {
            await AnthropicErrorAsync(http, 400, "invalid_request_error", "max_tokens: Field required");
            return;
        }

        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        if (InvalidDocument(messages) is { } invalid)
        {
            await AnthropicErrorAsync(http, 400, "invalid_request_error", invalid);
            return;
        }

        var last = messages.LastOrDefault();
        var lastBlocks = last.ValueKind == JsonValueKind.Object ? AnthropicBlocks(last.GetProperty("content")) : [];
        var text = string.Concat(lastBlocks.Where(b => b.Type == "text").Select(b => b.Text));
        var toolResult = lastBlocks.FirstOrDefault(b => b.Type == "tool_result").Text;
        var scenario = Scenario(http, text);
        if (await AnthropicScenarioErrorAsync(http, scenario))
        {
            return;
        }

        var model = root.GetProperty("model").GetString() ?? "claude-mock";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var tools = root.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.Array && t.GetArrayLength() > 0 ? t : default;
        var toolCall = scenario == "tool_call" || (tools.ValueKind == JsonValueKind.Array && toolResult is null);
        var json = root.TryGetProperty("output_config", out var oc) && oc.TryGetProperty("format", out _);
        var reply = toolResult is not null ? "Tool said: " + toolResult : json ? "{\"answer\":\"" + Escape(text) + "\"}" : $"Mock reply to: {text}";
        var promptTokens = messages.Sum(m => AnthropicBlocks(m.GetProperty("content")).Sum(b => ((b.Text?.Length ?? 0) / 4) + 3)) + (root.TryGetProperty("system", out var sys) ? (sys.ToString().Length / 4) + 1 : 0);
        var outputTokens = toolCall ? 12 : (reply.Length / 4) + 1;
        var (cacheRead, cacheCreation) = scenario == "cache" ? (100, 20) : (0, 0);
        var stop = scenario == "refusal" ? "refusal" : toolCall ? "tool_use" : scenario == "length" ? "max_tokens" : "end_turn";
        var toolName = tools.ValueKind == JsonValueKind.Array ? tools[0].GetProperty("name").GetString() ?? "tool" : "get_weather";
        var id = "msg_mock_" + Guid.NewGuid().ToString("N")[..16];
        http.Response.Headers["request-id"] = "req_" + Guid.NewGuid().ToString("N")[..16];

        void Usage(Utf8JsonWriter w, int output)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", promptTokens);
            w.WriteNumber("cache_creation_input_tokens", cacheCreation);
            w.WriteNumber("cache_read_input_tokens", cacheRead);
            w.WriteNumber("output_tokens", output);
            w.WriteEndObject();
        }

        if (!stream)
        {
            await DelayAsync(http, Timing.Latency);
            await WriteAnswerAsync(http, scenario, w =>
            {
                w.WriteString("id", id);
                w.WriteString("type", "message");
                w.WriteString("role", "assistant");
                w.WriteString("model", model);
                if (scenario is "missing_field" or "wrong_type")
                {
                    if (scenario == "wrong_type")
                    {
                        w.WriteString("content", reply); // a string where the API has an array of blocks
                    }

                    w.WriteString("stop_reason", stop);
                    w.WriteNull("stop_sequence");
                    Usage(w, outputTokens);
                    return;
                }

                w.WriteStartArray("content");
                if (scenario != "refusal")
                {
                    w.WriteStartObject();
                    w.WriteString("type", "text");
                    w.WriteString("text", toolCall ? "Let me check." : reply);
                    w.WriteEndObject();
                }

                if (toolCall)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "tool_use");
                    w.WriteString("id", "toolu_mock_" + Guid.NewGuid().ToString("N")[..12]);
                    w.WriteString("name", toolName);
                    w.WriteStartObject("input");
                    w.WriteString("city", "Lyon");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteString("stop_reason", stop);
                w.WriteNull("stop_sequence");
                Usage(w, scenario == "refusal" ? 0 : outputTokens);
            });
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await DelayAsync(http, Timing.TimeToFirstToken);
        await NamedEvent(http, "message_start", w =>
        {
            w.WriteString("type", "message_start");
            w.WriteStartObject("message");
            w.WriteString("id", id);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", model);
            w.WriteStartArray("content");
            w.WriteEndArray();
            w.WriteNull("stop_reason");
            w.WriteNull("stop_sequence");
            Usage(w, 1);
            w.WriteEndObject();
        });
        await NamedEvent(http, "ping", w => w.WriteString("type", "ping"));
        var index = 0;
        if (scenario != "refusal")
        {
            await NamedEvent(http, "content_block_start", w =>
            {
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "text");
                w.WriteString("text", string.Empty);
                w.WriteEndObject();
            });
            var pieces = Split(toolCall ? "Let me check." : reply);
            for (var i = 0; i < pieces.Count; i++)
            {
                if (i > 0)
                {
                    await DelayAsync(http, Timing.ChunkDelay);
                }

                if (i == 2 && await StreamFaultAsync(http, scenario, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"cut\n\n"))
                {
                    return;
                }

                if (scenario == "midstream" && i == 2)
                {
                    await NamedEvent(http, "error", w =>
                    {
                        w.WriteString("type", "error");
                        w.WriteStartObject("error");
                        w.WriteString("type", "overloaded_error");
                        w.WriteString("message", "Overloaded");
                        w.WriteEndObject();
                    });
                    return;
                }

                var piece = pieces[i];
                await NamedEvent(http, "content_block_delta", w =>
                {
                    w.WriteString("type", "content_block_delta");
                    w.WriteNumber("index", 0);
                    w.WriteStartObject("delta");
                    w.WriteString("type", "text_delta");
                    w.WriteString("text", piece);
                    w.WriteEndObject();
                });
            }

            await NamedEvent(http, "content_block_stop", w =>
            {
                w.WriteString("type", "content_block_stop");
                w.WriteNumber("index", 0);
            });
            index = 1;
        }

        if (toolCall)
        {
            var toolIndex = index;
            await NamedEvent(http, "content_block_start", w =>
            {
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", toolIndex);
                w.WriteStartObject("content_block");
                w.WriteString("type", "tool_use");
                w.WriteString("id", "toolu_mock_" + Guid.NewGuid().ToString("N")[..12]);
                w.WriteString("name", toolName);
                w.WriteStartObject("input");
                w.WriteEndObject();
                w.WriteEndObject();
            });
            foreach (var part in AnthropicToolArgumentPieces)
            {
                await NamedEvent(http, "content_block_delta", w =>
                {
                    w.WriteString("type", "content_block_delta");
                    w.WriteNumber("index", toolIndex);
                    w.WriteStartObject("delta");
                    w.WriteString("type", "input_json_delta");
                    w.WriteString("partial_json", part);
                    w.WriteEndObject();
                });
            }

            await NamedEvent(http, "content_block_stop", w =>
            {
                w.WriteString("type", "content_block_stop");
                w.WriteNumber("index", toolIndex);
            });
        }

        await NamedEvent(http, "message_delta", w =>
        {
            w.WriteString("type", "message_delta");
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", stop);
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            Usage(w, scenario == "refusal" ? 0 : outputTokens); // cumulative, as the real API sends it
        });
        await NamedEvent(http, "message_stop", w => w.WriteString("type", "message_stop"));
    }

    private async Task<bool> AnthropicScenarioErrorAsync(HttpContext http, string? scenario)
    {
        (int Status, string Type, string Message)? error = scenario switch
        {
            "rate_limit" or "rate_limit_ms" or "rate_limit_date" => (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
            "server" => (500, "api_error", "Internal server error"),
            "overloaded" => (529, "overloaded_error", "Overloaded"),
            "auth" => (401, "authentication_error", $"invalid x-api-key {http.Request.Headers["x-api-key"]}"),
            "permission" => (403, "permission_error", "Your API key does not have permission to use the specified resource."),
            "not_found" => (404, "not_found_error", "model: claude-nonexistent"),
            "bad_request" => (400, "invalid_request_error", "messages: roles must alternate between \"user\" and \"assistant\""),
            "context_length" => (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
            "too_large" => (413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
            _ => null,
        };
        if (scenario == "slow")
        {
            await DelayAsync(http, TimeSpan.FromMinutes(5));
            return true;
        }

        if (error is not { } e)
        {
            return false;
        }

        switch (scenario)
        {
            case "rate_limit":
                http.Response.Headers["retry-after"] = "2";
                break;
            case "rate_limit_ms":
                http.Response.Headers["retry-after-ms"] = "1500";
                break;
            case "rate_limit_date":
                http.Response.Headers["retry-after"] = DateTimeOffset.UtcNow.AddSeconds(3).ToString("R", CultureInfo.InvariantCulture);
                break;
        }

        await AnthropicErrorAsync(http, e.Status, e.Type, e.Message);
        return true;
    }

    private static Task AnthropicErrorAsync(HttpContext http, int status, string type, string message) => WriteJson(http, status, w =>
    {
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteString("request_id", "req_" + Guid.NewGuid().ToString("N")[..16]);
    });

    /// <summary>
    /// The first malformed <c>document</c> block, as the real API words it (null when every one is well formed): a
    /// <c>source</c> of type <c>base64</c> (<c>media_type</c> <c>application/pdf</c>, <c>data</c> valid base64 of a
    /// PDF), <c>url</c> (an http(s) <c>url</c>), <c>text</c> (<c>media_type</c> <c>text/plain</c>, <c>data</c>),
    /// <c>content</c> (a string or blocks) or <c>file</c> (<c>file_id</c>); <c>title</c> and <c>context</c> strings;
    /// documents in user turns only.
    /// </summary>
    private static string? InvalidDocument(List<JsonElement> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (!messages[i].TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var j = 0;
            foreach (var block in content.EnumerateArray())
            {
                var path = $"messages.{i}.content.{j++}";
                if (!block.TryGetProperty("type", out var type) || type.GetString() != "document")
                {
                    continue;
                }

                if (messages[i].TryGetProperty("role", out var role) && role.GetString() != "user")
                {
                    return $"{path}: document blocks are only allowed in user turns";
                }

                if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
                {
                    return $"{path}.document.source: Field required";
                }

                foreach (var name in (string[])["title", "context"])
                {
                    if (block.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        return $"{path}.document.{name}: Input should be a valid string";
                    }
                }

                var sourceType = source.TryGetProperty("type", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString() : null;
                string? Str(string name) => source.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                switch (sourceType)
                {
                    case "base64":
                        if (Str("media_type") != "application/pdf")
                        {
                            return $"{path}.document.source.base64.media_type: Input should be 'application/pdf'";
                        }

                        var data = Str("data");
                        var bytes = new byte[((data?.Length ?? 0) * 3 / 4) + 3];
                        if (string.IsNullOrEmpty(data) || !Convert.TryFromBase64String(data, bytes, out var length))
                        {
                            return $"{path}.document.source.base64.data: Input should be valid base64";
                        }

                        if (length < 5 || !bytes.AsSpan(0, 5).SequenceEqual("%PDF-"u8))
                        {
                            return $"{path}.document.source.base64.data: The PDF specified was not valid.";
                        }

                        break;
                    case "url":
                        if (!Uri.TryCreate(Str("url"), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                        {
                            return $"{path}.document.source.url.url: Input should be a valid URL";
                        }

                        break;
                    case "text":
                        if (Str("media_type") != "text/plain" || Str("data") is null)
                        {
                            return $"{path}.document.source.text: media_type 'text/plain' and data are required";
                        }

                        break;
                    case "content":
                        if (!source.TryGetProperty("content", out var c) || c.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                        {
                            return $"{path}.document.source.content.content: Field required";
                        }

                        break;
                    case "file":
                        if (Str("file_id") is null)
                        {
                            return $"{path}.document.source.file.file_id: Field required";
                        }

                        break;
                    default:
                        return $"{path}.document.source: Input tag '{sourceType}' found using 'type' does not match any of the expected tags: 'base64', 'content', 'file', 'text', 'url'";
                }
            }
        }

        return null;
    }

    private static List<(string? Type, string? Text)> AnthropicBlocks(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return [("text", content.GetString())];
        }

        var blocks = new List<(string? Type, string? Text)>();
        foreach (var b in content.EnumerateArray())
        {
            var type = b.GetProperty("type").GetString();
            var text = type switch
            {
                "text" => b.GetProperty("text").GetString(),
                "tool_result" => b.TryGetProperty("content", out var c) ? (c.ValueKind == JsonValueKind.String ? c.GetString() : c.ToString()) : string.Empty,
                _ => null,
            };
            blocks.Add((type, text));
        }

        return blocks;
    }

    private static async Task NamedEvent(HttpContext http, string name, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(Encoding.UTF8.GetBytes($"event: {name}\ndata: "));
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        buffer.Write("\n\n"u8);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
