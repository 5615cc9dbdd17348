using System.Globalization;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Speaks the OpenAI Chat Completions wire format on 127.0.0.1: <c>POST /v1/chat/completions</c> (JSON and SSE with
/// <c>stream_options.include_usage</c> and <c>data: [DONE]</c>), <c>POST /v1/embeddings</c>, <c>GET /v1/models</c>, with
/// OpenAI's error bodies and headers. A scenario is chosen by the <c>x-mock-scenario</c> header or a
/// <c>[mock:NAME]</c> marker in the last user message: rate_limit (429 + retry-after), rate_limit_ms
/// (retry-after-ms), rate_limit_date (HTTP-date), server (500), overloaded (503), auth (401), permission (403),
/// not_found (404), bad_request (400), context_length (400 context_length_exceeded), content_policy,
/// no_retry (500 with x-should-retry: false), midstream (an error payload after two chunks), deepseek_cache
/// (DeepSeek cache usage fields), tool_call, slow (waits until the caller gives up), no_usage (a stream without its
/// usage chunk, as many compatible servers send it). A scenario and extra latency can also be set per requested
/// model (<see cref="MockUpstreamServer.ModelScenarios"/>, <see cref="MockUpstreamServer.ModelLatency"/>), so one mock
/// plays several deployments.
/// <para>
/// Faults of a broken upstream, served by every API of the mock (OpenAI, Anthropic, Gemini, Ollama) in its own
/// framing: malformed_json (a 200 whose JSON body is cut in half; in a stream, an event whose JSON is cut after two
/// chunks), missing_field (a 200 without the API's required field: <c>choices</c>, <c>content</c>,
/// <c>candidates</c>, <c>message</c>), wrong_type (that field with the wrong JSON type), truncated (a stream that ends
/// cleanly after two chunks without its terminal event: <c>[DONE]</c>, <c>message_stop</c>, the candidate with
/// <c>finishReason</c>, <c>done:true</c>), stall (headers and half a body, or two chunks of a stream, then nothing until
/// the client gives up), reset (half a body, or two chunks, then the connection is aborted).
/// </para>
/// </summary>
internal sealed class OpenAiMockApi(MockUpstreamServer server) : MockApi(server)
{
    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/v1/chat/completions", http => ChatAsync(http, record));
        app.MapPost("/v1/embeddings", http => EmbeddingsAsync(http, record));
        app.MapGet("/v1/models", http => http.Request.Headers.ContainsKey("x-api-key") ? AnthropicMockApi.AnthropicModelsAsync(http) : OpenAiModelsAsync(http));
    }

    internal static Task OpenAiModelsAsync(HttpContext http) => WriteJson(http, 200, w =>
    {
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var id in ModelIds)
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "model");
            w.WriteNumber("created", 1_700_000_000);
            w.WriteString("owned_by", "mock");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    internal async Task ChatAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "mock" : "mock";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var includeUsage = root.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        var lastUser = root.GetProperty("messages").EnumerateArray().LastOrDefault(x => x.GetProperty("role").GetString() == "user");
        var text = lastUser.ValueKind == JsonValueKind.Object ? ContentText(lastUser.GetProperty("content")) : string.Empty;
        // A scenario set for the requested model (one mock playing several deployments) unless the request names its own.
        var perModel = Server.ModelScenario(model);
        var scenario = http.Request.Headers.ContainsKey("x-mock-scenario") ? Scenario(http, text) : perModel ?? Scenario(http, text);
        var promptTokens = root.GetProperty("messages").EnumerateArray().Sum(x => x.TryGetProperty("content", out var c) ? (ContentText(c).Length / 4) + 4 : 4) + 3;

        if (await ErrorAsync(http, scenario))
        {
            return;
        }

        var tools = root.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.Array && t.GetArrayLength() > 0 ? t : default;
        var toolCall = scenario == "tool_call" || (tools.ValueKind == JsonValueKind.Array && lastUser.ValueKind == JsonValueKind.Object && root.GetProperty("messages").EnumerateArray().Last().GetProperty("role").GetString() != "tool");
        var reply = root.TryGetProperty("response_format", out var rf) && rf.TryGetProperty("type", out var rft) && rft.GetString() is "json_object" or "json_schema"
            ? "{\"answer\":\"" + Escape(text) + "\"}"
            : $"Mock reply to: {text}";
        var completionTokens = (reply.Length / 4) + 1;
        var id = "chatcmpl-mock-" + Guid.NewGuid().ToString("N")[..12];
        http.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N")[..16];

        if (!stream)
        {
            await DelayAsync(http, Timing.Latency + Server.ModelDelay(model));
            await WriteAnswerAsync(http, scenario, w =>
            {
                w.WriteString("id", id);
                w.WriteString("object", "chat.completion");
                w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                w.WriteString("model", model);
                if (scenario is "missing_field" or "wrong_type")
                {
                    if (scenario == "wrong_type")
                    {
                        w.WriteString("choices", reply); // a string where the API has an array
                    }

                    WriteUsage(w, promptTokens, completionTokens, scenario);
                    return;
                }

                w.WriteStartArray("choices");
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                if (toolCall)
                {
                    w.WriteNull("content");
                    WriteToolCalls(w, tools, withIndex: false);
                }
                else
                {
                    w.WriteString("content", reply);
                }

                w.WriteNull("refusal");
                w.WriteEndObject();
                w.WriteNull("logprobs");
                w.WriteString("finish_reason", toolCall ? "tool_calls" : "stop");
                w.WriteEndObject();
                w.WriteEndArray();
                WriteUsage(w, promptTokens, completionTokens, scenario);
                w.WriteString("system_fingerprint", "fp_mock");
                w.WriteString("service_tier", "default");
            });
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await DelayAsync(http, Timing.TimeToFirstToken + Server.ModelDelay(model));
        var pieces = toolCall ? [] : Split(reply);
        await Event(http, w => Chunk(w, id, model, role: true, content: string.Empty, toolCalls: default, finish: null));
        if (toolCall)
        {
            await Event(http, w => Chunk(w, id, model, role: false, content: null, toolCalls: tools, finish: null));
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(http, Timing.ChunkDelay);
            }

            if (i == 2 && await StreamFaultAsync(http, scenario, "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut\n\n"))
            {
                return;
            }

            if (scenario == "midstream" && i == 2)
            {
                await Event(http, w =>
                {
                    w.WriteStartObject("error");
                    w.WriteString("message", "The server had an error while processing your request.");
                    w.WriteString("type", "server_error");
                    w.WriteNull("param");
                    w.WriteNull("code");
                    w.WriteEndObject();
                });
                return;
            }

            var piece = Server.StampChunks ? "@t" + System.Diagnostics.Stopwatch.GetTimestamp().ToString(System.Globalization.CultureInfo.InvariantCulture) + ";" : pieces[i];
            await Event(http, w => Chunk(w, id, model, role: false, content: piece, toolCalls: default, finish: null));
        }

        await Event(http, w => Chunk(w, id, model, role: false, content: null, toolCalls: default, finish: toolCall ? "tool_calls" : "stop"));
        if (includeUsage && scenario != "no_usage")
        {
            await Event(http, w =>
            {
                w.WriteString("id", id);
                w.WriteString("object", "chat.completion.chunk");
                w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                w.WriteString("model", model);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, promptTokens, completionTokens, scenario);
                w.WriteString("obfuscation", "xyz");
            });
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
    }

    internal async Task EmbeddingsAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        var input = root.GetProperty("input");
        var texts = input.ValueKind == JsonValueKind.String ? [input.GetString()!] : input.EnumerateArray().Select(e => e.GetString()!).ToList();
        var scenario = Scenario(http, string.Join(' ', texts));
        if (await ErrorAsync(http, scenario))
        {
            return;
        }

        var dims = root.TryGetProperty("dimensions", out var d) && d.TryGetInt32(out var n) ? n : 8;
        var base64 = root.TryGetProperty("encoding_format", out var f) && f.GetString() == "base64";
        await WriteJson(http, 200, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < texts.Count; i++)
            {
                var vector = Enumerable.Range(0, dims).Select(k => (float)((texts[i].Length + k) % 7) / 7f).ToArray();
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (base64)
                {
                    w.WriteBase64String("embedding", System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
                }
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (var v in vector)
                    {
                        w.WriteNumberValue(v);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("model", root.GetProperty("model").GetString());
            w.WriteStartObject("usage");
            var tokens = texts.Sum(x => (x.Length / 4) + 1);
            w.WriteNumber("prompt_tokens", tokens);
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
        });
    }

    internal async Task<bool> ErrorAsync(HttpContext http, string? scenario)
    {
        (int Status, string Type, string? Code, string Message)? error = scenario switch
        {
            "rate_limit" or "rate_limit_ms" or "rate_limit_date" => (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests"),
            "server" => (500, "server_error", null, "The server had an error while processing your request."),
            "no_retry" => (500, "server_error", null, "Do not retry this one."),
            "overloaded" => (503, "server_error", null, "The engine is currently overloaded, please try again later"),
            // A careless upstream (some proxies do) echoes the whole key: adapters must scrub it.
            "auth" => (401, "invalid_request_error", "invalid_api_key", $"Incorrect API key provided: {http.Request.Headers.Authorization.ToString().Replace("Bearer ", string.Empty, StringComparison.Ordinal)}."),
            "permission" => (403, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"),
            "not_found" => (404, "invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
            "bad_request" => (400, "invalid_request_error", null, "Invalid 'messages': bad shape."),
            "context_length" => (400, "invalid_request_error", "context_length_exceeded", "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."),
            "content_policy" => (400, "invalid_request_error", "content_policy_violation", "Your request was rejected as a result of our safety system."),
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
            case "no_retry":
                http.Response.Headers["x-should-retry"] = "false";
                break;
        }

        await WriteJson(http, e.Status, w =>
        {
            w.WriteStartObject("error");
            w.WriteString("message", e.Message);
            w.WriteString("type", e.Type);
            w.WriteNull("param");
            if (e.Code is null)
            {
                w.WriteNull("code");
            }
            else
            {
                w.WriteString("code", e.Code);
            }

            w.WriteEndObject();
        });
        return true;
    }

    private static void Chunk(Utf8JsonWriter w, string id, string model, bool role, string? content, JsonElement toolCalls, string? finish)
    {
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (role)
        {
            w.WriteString("role", "assistant");
        }

        if (content is not null)
        {
            w.WriteString("content", content);
        }

        if (toolCalls.ValueKind == JsonValueKind.Array)
        {
            WriteToolCalls(w, toolCalls, withIndex: true);
        }

        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finish is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finish);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("usage");
    }

    private static void WriteToolCalls(Utf8JsonWriter w, JsonElement tools, bool withIndex)
    {
        var name = tools.ValueKind == JsonValueKind.Array ? tools[0].GetProperty("function").GetProperty("name").GetString() : "tool";
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        if (withIndex)
        {
            w.WriteNumber("index", 0);
        }

        w.WriteString("id", "call_mock1");
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", name);
        w.WriteString("arguments", "{\"city\":\"Paris\"}");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void WriteUsage(Utf8JsonWriter w, int prompt, int completion, string? scenario)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        if (scenario == "deepseek_cache")
        {
            w.WriteNumber("prompt_cache_hit_tokens", prompt / 2);
            w.WriteNumber("prompt_cache_miss_tokens", prompt - (prompt / 2));
        }
        else
        {
            w.WriteStartObject("prompt_tokens_details");
            w.WriteNumber("cached_tokens", scenario == "cached" ? prompt / 2 : 0);
            w.WriteEndObject();
            w.WriteStartObject("completion_tokens_details");
            w.WriteNumber("reasoning_tokens", scenario == "reasoning" ? 3 : 0);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}
