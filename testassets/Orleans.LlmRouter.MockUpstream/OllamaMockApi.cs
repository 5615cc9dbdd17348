using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Ollama's native API: <c>POST /api/chat</c> (one JSON object with <c>stream:false</c>, else NDJSON lines served as
/// <c>application/x-ndjson</c>, the last with <c>done:true</c>, <c>done_reason</c>, counts and nanosecond durations),
/// <c>POST /api/embed</c> and <c>GET /api/tags</c>, with Ollama's <c>{"error":"…"}</c> bodies. Like the real server it
/// streams unless told otherwise, rejects images that are not base64, cuts the reply at <c>options.num_predict</c>
/// tokens (<c>done_reason:"length"</c>; one 8-character piece counts as one token) and omits
/// <c>prompt_eval_count</c> when it would be zero. Scenarios (<c>x-mock-scenario</c> header or <c>[mock:NAME]</c> in
/// the last user message): rate_limit (429 + retry-after: 2), server (500), overloaded (503), not_found (404 "model
/// 'x' not found"), bad_request (400), context_length (400 "the input length exceeds the context length"), auth (401
/// from a proxy that echoes the bearer token it got), midstream (an error line after two chunks), truncated (the
/// stream ends after two chunks without its done line), stall (two chunks, then silence until the caller gives up),
/// reset, malformed_json, missing_field / wrong_type (for <c>message</c>) as described on <see cref="MockUpstreamServer"/>,
/// cached (no prompt_eval_count), tool_call (tool calls with ids, as current Ollama sends), tool_call_no_id (as older
/// Ollama sends), slow (waits until the caller gives up).
/// </summary>
internal sealed class OllamaMockApi(MockUpstreamServer server) : MockApi(server)
{
    private static readonly TimeSpan OllamaForever = TimeSpan.FromMinutes(5);
    private static readonly SearchValues<char> OllamaBase64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");

    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/api/chat", http => OllamaChatAsync(http, record));
        app.MapPost("/api/embed", http => OllamaEmbedAsync(http, record));
        app.MapGet("/api/tags", http => OllamaTagsAsync(http, record));
    }

    private async Task OllamaChatAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "mock" : "mock";
        var stream = !root.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False; // Ollama streams by default
        var messages = root.TryGetProperty("messages", out var ms) && ms.ValueKind == JsonValueKind.Array ? ms.EnumerateArray().ToList() : [];
        var lastUser = messages.LastOrDefault(x => OllamaString(x, "role") == "user");
        var text = lastUser.ValueKind == JsonValueKind.Object ? OllamaString(lastUser, "content") ?? string.Empty : string.Empty;
        var scenario = Scenario(http, text);

        // Ollama decodes images as []byte: anything that is not base64 (a URL, a data URI prefix) fails the request.
        foreach (var image in messages.Where(x => x.TryGetProperty("images", out var i) && i.ValueKind == JsonValueKind.Array).SelectMany(x => x.GetProperty("images").EnumerateArray()))
        {
            var data = image.GetString() ?? string.Empty;
            if (!Base64.IsValid(data))
            {
                var at = data.AsSpan().IndexOfAnyExcept(OllamaBase64Chars);
                await OllamaErrorBodyAsync(http, 400, $"illegal base64 data at input byte {Math.Max(at, 0)}");
                return;
            }
        }

        if (await OllamaErrorAsync(http, scenario, model))
        {
            return;
        }

        var tools = root.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.Array && t.GetArrayLength() > 0 ? t : default;
        var lastRole = messages.Count > 0 ? OllamaString(messages[^1], "role") : null;
        var toolCall = scenario is "tool_call" or "tool_call_no_id" || (tools.ValueKind == JsonValueKind.Array && lastRole != "tool");
        var json = root.TryGetProperty("format", out var f) && (f.ValueKind == JsonValueKind.Object || (f.ValueKind == JsonValueKind.String && f.GetString() == "json"));
        var reply = json ? "{\"answer\":\"" + Escape(text) + "\"}" : $"Mock reply to: {text}";
        var pieces = toolCall ? [] : Split(reply);
        var doneReason = "stop";
        if (root.TryGetProperty("options", out var o) && o.TryGetProperty("num_predict", out var np) && np.TryGetInt32(out var limit) && limit >= 0 && pieces.Count > limit)
        {
            pieces = pieces.Take(limit).ToList();
            doneReason = "length";
        }

        var promptTokens = messages.Sum(x => ((OllamaString(x, "content") ?? string.Empty).Length / 4) + 4) + 3;
        var evalCount = toolCall ? 10 : pieces.Count;
        var withIds = scenario != "tool_call_no_id";

        if (!stream)
        {
            await DelayAsync(http, Timing.Latency);
            await WriteAnswerAsync(http, scenario, w =>
            {
                OllamaHead(w, model);
                if (scenario == "wrong_type")
                {
                    w.WriteString("message", string.Concat(pieces)); // a string where the API has an object
                }
                else if (scenario != "missing_field")
                {
                    OllamaMessage(w, string.Concat(pieces), toolCall ? tools : default, toolCall, withIds);
                }

                w.WriteBoolean("done", true);
                w.WriteString("done_reason", doneReason);
                OllamaMetrics(w, promptTokens, evalCount, scenario);
            });
            return;
        }

        http.Response.ContentType = "application/x-ndjson";
        await DelayAsync(http, Timing.TimeToFirstToken);
        if (toolCall)
        {
            await OllamaLineAsync(http, w =>
            {
                OllamaHead(w, model);
                OllamaMessage(w, string.Empty, tools, toolCall: true, withIds);
                w.WriteBoolean("done", false);
            });
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(http, Timing.ChunkDelay);
            }

            if (i == 2 && await StreamFaultAsync(http, scenario, "{\"model\":\"" + model + "\",\"message\":{\"role\":\"assistant\",\"content\":\"cut\n"))
            {
                return;
            }

            if (i == 2 && scenario == "midstream")
            {
                await OllamaLineAsync(http, w => w.WriteString("error", "an error was encountered while running the model: unexpected EOF"));
                return;
            }

            var piece = pieces[i];
            await OllamaLineAsync(http, w =>
            {
                OllamaHead(w, model);
                OllamaMessage(w, piece, default, toolCall: false, withIds);
                w.WriteBoolean("done", false);
            });
        }

        await OllamaLineAsync(http, w =>
        {
            OllamaHead(w, model);
            OllamaMessage(w, string.Empty, default, toolCall: false, withIds);
            w.WriteBoolean("done", true);
            w.WriteString("done_reason", doneReason);
            OllamaMetrics(w, promptTokens, evalCount, scenario);
        });
    }

    private async Task OllamaEmbedAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var root = doc.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "mock" : "mock";
        var input = root.TryGetProperty("input", out var i) ? i : default;
        var texts = input.ValueKind switch
        {
            JsonValueKind.String => [input.GetString()!],
            JsonValueKind.Array => input.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList(),
            _ => new List<string>(),
        };
        var scenario = Scenario(http, string.Join(' ', texts));
        if (await OllamaErrorAsync(http, scenario, model))
        {
            return;
        }

        var dims = root.TryGetProperty("dimensions", out var d) && d.TryGetInt32(out var n) && n > 0 ? n : 8;
        await DelayAsync(http, Timing.Latency);
        await WriteJson(http, 200, w =>
        {
            w.WriteString("model", model);
            w.WriteStartArray("embeddings");
            foreach (var text in texts)
            {
                w.WriteStartArray();
                for (var k = 0; k < dims; k++)
                {
                    w.WriteNumberValue((float)((text.Length + k) % 7) / 7f);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteNumber("total_duration", 14_143_917L);
            w.WriteNumber("load_duration", 1_019_500L);
            w.WriteNumber("prompt_eval_count", texts.Sum(x => (x.Length / 4) + 1));
        });
    }

    private async Task OllamaTagsAsync(HttpContext http, bool record)
    {
        if (record)
        {
            Record(new MockRequest(http.Request.Path, http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal), string.Empty));
        }

        if (await OllamaErrorAsync(http, Scenario(http, string.Empty), "mock"))
        {
            return;
        }

        await WriteJson(http, 200, w =>
        {
            w.WriteStartArray("models");
            foreach (var id in ModelIds)
            {
                w.WriteStartObject();
                w.WriteString("name", id + ":latest");
                w.WriteString("model", id + ":latest");
                w.WriteString("modified_at", "2026-05-01T10:00:00.000000000Z");
                w.WriteNumber("size", 1_321_098_329L);
                w.WriteString("digest", "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72");
                w.WriteStartObject("details");
                w.WriteString("parent_model", string.Empty);
                w.WriteString("format", "gguf");
                w.WriteString("family", id == "mock-embed" ? "bert" : "llama");
                w.WriteStartArray("families");
                w.WriteStringValue(id == "mock-embed" ? "bert" : "llama");
                w.WriteEndArray();
                w.WriteString("parameter_size", "1.2B");
                w.WriteString("quantization_level", "Q4_K_M");
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
    }

    private async Task<bool> OllamaErrorAsync(HttpContext http, string? scenario, string model)
    {
        if (scenario == "slow")
        {
            await DelayAsync(http, OllamaForever);
            return true;
        }

        (int Status, string Message)? error = scenario switch
        {
            "rate_limit" => (429, "too many requests, please retry shortly"),
            "server" => (500, "llama runner process has terminated: exit status 2"),
            "overloaded" => (503, "server busy, please try again.  maximum pending requests exceeded"),
            "not_found" => (404, $"model '{model}' not found"),
            "bad_request" => (400, "json: cannot unmarshal number into Go struct field Message.messages.content of type string"),
            "context_length" => (400, "the input length exceeds the context length"),
            "auth" => (401, $"unauthorized: invalid token \"{http.Request.Headers.Authorization}\""),
            _ => null,
        };
        if (error is not { } e)
        {
            return false;
        }

        if (scenario == "rate_limit")
        {
            http.Response.Headers["retry-after"] = "2";
        }

        await OllamaErrorBodyAsync(http, e.Status, e.Message);
        return true;
    }

    private static Task OllamaErrorBodyAsync(HttpContext http, int status, string message) =>
        WriteJson(http, status, w => w.WriteString("error", message));

    private static async Task OllamaLineAsync(HttpContext http, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        buffer.Write("\n"u8);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    private static void OllamaHead(Utf8JsonWriter w, string model)
    {
        w.WriteString("model", model);
        w.WriteString("created_at", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
    }

    private static void OllamaMessage(Utf8JsonWriter w, string content, JsonElement tools, bool toolCall, bool withIds)
    {
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", content);
        if (toolCall)
        {
            // One call per declared tool; arguments are objects, as Ollama sends them.
            var names = tools.ValueKind == JsonValueKind.Array
                ? tools.EnumerateArray().Select(x => x.GetProperty("function").GetProperty("name").GetString() ?? "tool").ToList()
                : ["tool"];
            w.WriteStartArray("tool_calls");
            for (var i = 0; i < names.Count; i++)
            {
                w.WriteStartObject();
                if (withIds)
                {
                    w.WriteString("id", $"call_mock{i + 1:0000}");
                }

                w.WriteStartObject("function");
                w.WriteNumber("index", i);
                w.WriteString("name", names[i]);
                w.WriteStartObject("arguments");
                w.WriteString("city", i == 0 ? "Paris" : "London");
                w.WriteNumber("days", 3);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void OllamaMetrics(Utf8JsonWriter w, int promptTokens, int evalCount, string? scenario)
    {
        const long load = 1_334_875L;
        var promptDuration = promptTokens * 1_250_000L;
        var evalDuration = evalCount * 16_000_000L;
        w.WriteNumber("total_duration", load + promptDuration + evalDuration);
        w.WriteNumber("load_duration", load);
        if (scenario != "cached")
        {
            w.WriteNumber("prompt_eval_count", promptTokens); // Go omits it when zero, as for a fully cached prompt
        }

        w.WriteNumber("prompt_eval_duration", promptDuration);
        w.WriteNumber("eval_count", evalCount);
        w.WriteNumber("eval_duration", evalDuration);
    }

    private static string? OllamaString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
