using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

// The Gemini Developer API (v1beta): POST /v1beta/models/{model}:generateContent (pretty-printed JSON,
// as Google sends it), :streamGenerateContent?alt=sse (data: {GenerateContentResponse}\r\n\r\n events,
// no [DONE], finish reason and final usage in the last event), :batchEmbedContents and
// GET /v1beta/models (paged by at most two models, so clients exercise nextPageToken). A request
// without an API key (x-goog-api-key or ?key=) gets Google's 403 for unregistered callers. Errors use
// Google's body {"error":{"code","message","status","details"}}. Scenarios (header x-mock-scenario or
// [mock:NAME] in the last user text): rate_limit (429 + retry-after), rate_limit_ms, rate_limit_date,
// rate_limit_retryinfo (429 with only RetryInfo.retryDelay "12s"), server (500 INTERNAL), overloaded (503
// UNAVAILABLE), deadline (504 DEADLINE_EXCEEDED), auth (400 "API key not valid"), unauthenticated (401),
// permission (403), precondition (400 FAILED_PRECONDITION), not_found (404), bad_request (400 INVALID_ARGUMENT),
// context_length (400, input token count exceeds the maximum), content_policy (200 with
// promptFeedback.blockReason), safety (finish reason SAFETY), midstream (an error event after two chunks),
// tool_call (a functionCall part), cache / cached (cachedContentTokenCount), reasoning / thinking (a thought
// part and thoughtsTokenCount), echo_key (a misbehaving upstream that echoes the key in its error), slow, and the
// faults described on MockUpstreamServer (malformed_json, missing_field / wrong_type for candidates, truncated: the
// stream ends before the candidate with finishReason, stall, reset).
// Replies are cut at maxOutputTokens with finish reason MAX_TOKENS.
internal sealed class GeminiMockApi(MockUpstreamServer server) : MockApi(server)
{
    private const int GeminiPageSize = 2;
    private const int GeminiTokensPerImage = 258;
    private const string GeminiThoughtSignature = "bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==";

    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/v1beta/models/{target}", http => GeminiPostAsync(http, record));
        app.MapGet("/v1beta/models", http => GeminiModelsAsync(http, record));
    }

    private async Task GeminiPostAsync(HttpContext http, bool record)
    {
        using var doc = await ReadGeminiAsync(http, record);
        if (!await GeminiKeyAsync(http))
        {
            return;
        }

        var target = http.GetRouteValue("target") as string ?? string.Empty;
        var colon = target.LastIndexOf(':');
        var model = colon > 0 ? target[..colon] : target;
        var method = colon > 0 ? target[(colon + 1)..] : string.Empty;
        if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.");
            return;
        }

        switch (method)
        {
            case "generateContent":
                await GeminiGenerateAsync(http, model, doc.RootElement, stream: false);
                break;
            case "streamGenerateContent" when http.Request.Query["alt"] == "sse":
                await GeminiGenerateAsync(http, model, doc.RootElement, stream: true);
                break;
            case "streamGenerateContent":
                await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", "The mock serves streamGenerateContent with alt=sse only.");
                break;
            case "batchEmbedContents":
                await GeminiEmbedAsync(http, model, doc.RootElement);
                break;
            default:
                await GeminiErrorBodyAsync(http, 404, "NOT_FOUND", $"Method '{method}' is not found for models/{model}.");
                break;
        }
    }

    private async Task GeminiGenerateAsync(HttpContext http, string model, JsonElement root, bool stream)
    {
        if (!root.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Array || contents.GetArrayLength() == 0)
        {
            await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n");
            return;
        }

        var last = contents[contents.GetArrayLength() - 1];
        var lastUser = contents.EnumerateArray().LastOrDefault(c => !c.TryGetProperty("role", out var r) || r.GetString() == "user");
        var text = lastUser.ValueKind == JsonValueKind.Object ? GeminiText(lastUser) : string.Empty;
        var scenario = Scenario(http, text);
        if (await GeminiErrorAsync(http, scenario, model))
        {
            return;
        }

        var promptTokens = contents.EnumerateArray().Sum(c => (GeminiText(c).Length / 4) + 4 + (GeminiParts(c).Count(p => p.TryGetProperty("inlineData", out _)) * GeminiTokensPerImage))
            + (root.TryGetProperty("systemInstruction", out var si) ? (GeminiText(si).Length / 4) + 4 : 0);
        var config = root.TryGetProperty("generationConfig", out var gc) ? gc : default;
        var json = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("responseMimeType", out var mime) && mime.GetString() == "application/json";
        int? maxOutput = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("maxOutputTokens", out var mo) && mo.TryGetInt32(out var n) ? n : null;

        var declarations = root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array
            ? tools.EnumerateArray().Where(t => t.TryGetProperty("functionDeclarations", out _)).SelectMany(t => t.GetProperty("functionDeclarations").EnumerateArray()).ToList()
            : [];
        var calling = root.TryGetProperty("toolConfig", out var tc) && tc.TryGetProperty("functionCallingConfig", out var fcc) ? fcc : default;
        var mode = calling.ValueKind == JsonValueKind.Object && calling.TryGetProperty("mode", out var md) ? md.GetString() : "AUTO";
        var answered = GeminiParts(last).FirstOrDefault(p => p.TryGetProperty("functionResponse", out _));
        var toolCall = scenario == "tool_call" || (declarations.Count > 0 && answered.ValueKind != JsonValueKind.Object && mode != "NONE");
        var toolName = calling.ValueKind == JsonValueKind.Object && calling.TryGetProperty("allowedFunctionNames", out var allowed) && allowed.GetArrayLength() > 0
            ? allowed[0].GetString()!
            : declarations.Count > 0 ? declarations[0].GetProperty("name").GetString()! : "tool";

        if (text.Length == 0 && answered.ValueKind == JsonValueKind.Object)
        {
            text = $"the {answered.GetProperty("functionResponse").GetProperty("name").GetString()} result";
        }

        var reply = toolCall ? string.Empty : json ? "{\"answer\":\"" + Escape(text) + "\"}" : $"Mock reply to: {text}";
        var finish = "STOP";
        if (maxOutput is { } max && (reply.Length / 4) + 1 > max)
        {
            reply = reply[..Math.Min(reply.Length, max * 4)];
            finish = "MAX_TOKENS";
        }

        if (scenario == "safety")
        {
            reply = string.Empty;
            finish = "SAFETY";
        }

        var usage = new GeminiUsage(
            promptTokens,
            reply.Length == 0 ? (toolCall ? 5 : 0) : (reply.Length / 4) + 1,
            scenario is "cache" or "cached" ? promptTokens / 2 : 0,
            scenario is "reasoning" or "thinking" ? 3 : 0);
        var thought = usage.Thoughts > 0;
        var responseId = Guid.NewGuid().ToString("N")[..22];

        if (scenario == "content_policy")
        {
            var blocked = usage with { Candidates = 0, Cached = 0, Thoughts = 0 };
            Action<Utf8JsonWriter> body = w =>
            {
                w.WriteStartObject("promptFeedback");
                w.WriteString("blockReason", "SAFETY");
                GeminiSafetyRatings(w);
                w.WriteEndObject();
                GeminiUsageJson(w, blocked);
                w.WriteString("modelVersion", model);
                w.WriteString("responseId", responseId);
            };
            await (stream ? GeminiSseAsync(http, body) : GeminiJsonAsync(http, 200, body));
            return;
        }

        if (!stream)
        {
            await DelayAsync(http, Timing.Latency);
            await WriteAnswerAsync(http, scenario, w =>
            {
                if (scenario is "missing_field" or "wrong_type")
                {
                    if (scenario == "wrong_type")
                    {
                        w.WriteString("candidates", reply); // a string where the API has an array
                    }

                    GeminiUsageJson(w, usage);
                    w.WriteString("modelVersion", model);
                    w.WriteString("responseId", responseId);
                    return;
                }

                w.WriteStartArray("candidates");
                w.WriteStartObject();
                if (finish != "SAFETY")
                {
                    w.WriteStartObject("content");
                    w.WriteStartArray("parts");
                    if (thought)
                    {
                        GeminiThoughtPart(w);
                    }

                    if (toolCall)
                    {
                        GeminiFunctionCallPart(w, toolName);
                    }
                    else
                    {
                        GeminiTextPart(w, reply);
                    }

                    w.WriteEndArray();
                    w.WriteString("role", "model");
                    w.WriteEndObject();
                }
                else
                {
                    GeminiSafetyRatings(w);
                }

                w.WriteString("finishReason", finish);
                w.WriteNumber("index", 0);
                w.WriteEndObject();
                w.WriteEndArray();
                GeminiUsageJson(w, usage);
                w.WriteString("modelVersion", model);
                w.WriteString("responseId", responseId);
            }, indented: true, contentType: "application/json; charset=UTF-8");
            return;
        }

        await DelayAsync(http, Timing.TimeToFirstToken);
        var pieces = Split(reply);
        if (thought)
        {
            await GeminiSseAsync(http, w => GeminiChunk(w, model, responseId, GeminiThoughtPart, null, usage with { Candidates = 0 }));
        }

        var sent = 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            if (i > 0 || thought)
            {
                await DelayAsync(http, Timing.ChunkDelay);
            }

            if (i == 2 && await StreamFaultAsync(http, scenario, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"cut\r\n\r\n"))
            {
                return;
            }

            if (scenario == "midstream" && i == 2)
            {
                await GeminiSseAsync(http, w =>
                {
                    w.WriteStartObject("error");
                    w.WriteNumber("code", 500);
                    w.WriteString("message", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting");
                    w.WriteString("status", "INTERNAL");
                    w.WriteEndObject();
                });
                return;
            }

            var piece = pieces[i];
            sent += piece.Length;
            var final = i == pieces.Count - 1 && !toolCall;
            var soFar = final ? usage : usage with { Candidates = (sent / 4) + 1 };
            await GeminiSseAsync(http, w => GeminiChunk(w, model, responseId, p => GeminiTextPart(p, piece), final ? finish : null, soFar));
        }

        if (toolCall)
        {
            await GeminiSseAsync(http, w => GeminiChunk(w, model, responseId, p => GeminiFunctionCallPart(p, toolName), finish, usage));
        }
        else if (pieces.Count == 0)
        {
            await GeminiSseAsync(http, w => GeminiChunk(w, model, responseId, null, finish, usage));
        }
    }

    private async Task GeminiEmbedAsync(HttpContext http, string model, JsonElement root)
    {
        if (!root.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array || requests.GetArrayLength() == 0)
        {
            await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests is not specified\n");
            return;
        }

        if (requests.GetArrayLength() > 100)
        {
            await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n");
            return;
        }

        var items = requests.EnumerateArray().ToList();
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].TryGetProperty("model", out var m) || m.GetString() != "models/" + model)
            {
                await GeminiErrorBodyAsync(http, 400, "INVALID_ARGUMENT", $"* BatchEmbedContentsRequest.requests[{i}].model: the model must be models/{model}, the model of the batch\n");
                return;
            }
        }

        var texts = items.Select(r => r.TryGetProperty("content", out var c) ? GeminiText(c) : string.Empty).ToList();
        var scenario = Scenario(http, string.Join(' ', texts));
        if (await GeminiErrorAsync(http, scenario, model))
        {
            return;
        }

        await GeminiJsonAsync(http, 200, w =>
        {
            w.WriteStartArray("embeddings");
            for (var i = 0; i < items.Count; i++)
            {
                var dims = items[i].TryGetProperty("outputDimensionality", out var d) && d.TryGetInt32(out var k) ? k : 8;
                w.WriteStartObject();
                w.WriteStartArray("values");
                for (var j = 0; j < dims; j++)
                {
                    w.WriteNumberValue((float)((texts[i].Length + j) % 7) / 7f);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
    }

    private async Task GeminiModelsAsync(HttpContext http, bool record)
    {
        using var _ = await ReadGeminiAsync(http, record);
        if (!await GeminiKeyAsync(http) || await GeminiErrorAsync(http, Scenario(http, string.Empty), null))
        {
            return;
        }

        var size = int.TryParse(http.Request.Query["pageSize"], NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0 ? Math.Min(s, GeminiPageSize) : GeminiPageSize;
        var start = int.TryParse(http.Request.Query["pageToken"], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : 0;
        await GeminiJsonAsync(http, 200, w =>
        {
            w.WriteStartArray("models");
            foreach (var id in ModelIds.Skip(start).Take(size))
            {
                var embed = id.Contains("embed", StringComparison.Ordinal);
                w.WriteStartObject();
                w.WriteString("name", "models/" + id);
                w.WriteString("version", "001");
                w.WriteString("displayName", "Mock " + id);
                w.WriteNumber("inputTokenLimit", embed ? 2048 : 1_048_576);
                w.WriteNumber("outputTokenLimit", embed ? 1 : 65_536);
                w.WriteStartArray("supportedGenerationMethods");
                w.WriteStringValue(embed ? "embedContent" : "generateContent");
                w.WriteStringValue("countTokens");
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (start + size < ModelIds.Length)
            {
                w.WriteString("nextPageToken", (start + size).ToString(CultureInfo.InvariantCulture));
            }
        });
    }

    /// <summary>Google answers a call without any credential with 403 PERMISSION_DENIED.</summary>
    private static async Task<bool> GeminiKeyAsync(HttpContext http)
    {
        if (!string.IsNullOrEmpty(http.Request.Headers["x-goog-api-key"]) || !string.IsNullOrEmpty(http.Request.Query["key"]))
        {
            return true;
        }

        await GeminiErrorBodyAsync(http, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
        return false;
    }

    private async Task<bool> GeminiErrorAsync(HttpContext http, string? scenario, string? model)
    {
        const string Quota = "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
        if (scenario == "slow")
        {
            await DelayAsync(http, TimeSpan.FromMinutes(5));
            return true;
        }

        (int Code, string Status, string Message)? error = scenario switch
        {
            "rate_limit" or "rate_limit_ms" or "rate_limit_date" or "rate_limit_retryinfo" => (429, "RESOURCE_EXHAUSTED", Quota),
            "server" => (500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
            "overloaded" => (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
            "deadline" => (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
            "auth" => (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
            "unauthenticated" => (401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."),
            "permission" => (403, "PERMISSION_DENIED", "The caller does not have permission"),
            "precondition" => (400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
            "not_found" => (404, "NOT_FOUND", $"models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."),
            "bad_request" => (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
            "context_length" => (400, "INVALID_ARGUMENT", "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."),
            "echo_key" => (500, "INTERNAL", "Upstream rejected x-goog-api-key=" + http.Request.Headers["x-goog-api-key"]),
            _ => null,
        };
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

        await GeminiErrorBodyAsync(http, e.Code, e.Status, e.Message, w =>
        {
            if (e.Code == 429)
            {
                w.WriteStartObject();
                w.WriteString("@type", "type.googleapis.com/google.rpc.QuotaFailure");
                w.WriteStartArray("violations");
                w.WriteStartObject();
                w.WriteString("quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests");
                w.WriteString("quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                if (scenario == "rate_limit_retryinfo")
                {
                    w.WriteStartObject();
                    w.WriteString("@type", "type.googleapis.com/google.rpc.RetryInfo");
                    w.WriteString("retryDelay", "12s");
                    w.WriteEndObject();
                }
            }
            else if (scenario == "auth")
            {
                w.WriteStartObject();
                w.WriteString("@type", "type.googleapis.com/google.rpc.ErrorInfo");
                w.WriteString("reason", "API_KEY_INVALID");
                w.WriteString("domain", "googleapis.com");
                w.WriteStartObject("metadata");
                w.WriteString("service", "generativelanguage.googleapis.com");
                w.WriteEndObject();
                w.WriteEndObject();
            }
        });
        return true;
    }

    /// <summary>Reads and records a Gemini request with its query string (so tests can see what the URL carried).</summary>
    private async Task<JsonDocument?> ReadGeminiAsync(HttpContext http, bool record)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        if (record)
        {
            Record(new MockRequest(http.Request.Path.Value + http.Request.QueryString.Value, http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal), body));
        }

        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record GeminiUsage(int Prompt, int Candidates, int Cached, int Thoughts);

    private static JsonElement[] GeminiParts(JsonElement content) =>
        content.ValueKind == JsonValueKind.Object && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array ? [.. parts.EnumerateArray()] : [];

    private static string GeminiText(JsonElement content) =>
        string.Concat(GeminiParts(content).Where(p => p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String).Select(p => p.GetProperty("text").GetString()));

    private static void GeminiChunk(Utf8JsonWriter w, string model, string responseId, Action<Utf8JsonWriter>? part, string? finish, GeminiUsage usage)
    {
        w.WriteStartArray("candidates");
        w.WriteStartObject();
        if (part is not null)
        {
            w.WriteStartObject("content");
            w.WriteStartArray("parts");
            part(w);
            w.WriteEndArray();
            w.WriteString("role", "model");
            w.WriteEndObject();
        }

        if (finish is not null)
        {
            w.WriteString("finishReason", finish);
        }

        w.WriteNumber("index", 0);
        w.WriteEndObject();
        w.WriteEndArray();
        GeminiUsageJson(w, usage);
        w.WriteString("modelVersion", model);
        w.WriteString("responseId", responseId);
    }

    private static void GeminiTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    private static void GeminiThoughtPart(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("text", "**Weighing the question** I am considering what was asked.");
        w.WriteBoolean("thought", true);
        w.WriteEndObject();
    }

    private static void GeminiFunctionCallPart(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject();
        w.WriteStartObject("functionCall");
        w.WriteString("name", name);
        w.WriteStartObject("args");
        w.WriteString("city", "Paris");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("thoughtSignature", GeminiThoughtSignature);
        w.WriteEndObject();
    }

    private static void GeminiSafetyRatings(Utf8JsonWriter w)
    {
        w.WriteStartArray("safetyRatings");
        w.WriteStartObject();
        w.WriteString("category", "HARM_CATEGORY_DANGEROUS_CONTENT");
        w.WriteString("probability", "HIGH");
        w.WriteBoolean("blocked", true);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>usageMetadata as Google writes it: zero counts are left out (proto3 JSON).</summary>
    private static void GeminiUsageJson(Utf8JsonWriter w, GeminiUsage usage)
    {
        w.WriteStartObject("usageMetadata");
        w.WriteNumber("promptTokenCount", usage.Prompt);
        if (usage.Candidates > 0)
        {
            w.WriteNumber("candidatesTokenCount", usage.Candidates);
        }

        w.WriteNumber("totalTokenCount", usage.Prompt + usage.Candidates + usage.Thoughts);
        if (usage.Cached > 0)
        {
            w.WriteNumber("cachedContentTokenCount", usage.Cached);
        }

        if (usage.Thoughts > 0)
        {
            w.WriteNumber("thoughtsTokenCount", usage.Thoughts);
        }

        w.WriteStartArray("promptTokensDetails");
        w.WriteStartObject();
        w.WriteString("modality", "TEXT");
        w.WriteNumber("tokenCount", usage.Prompt);
        w.WriteEndObject();
        w.WriteEndArray();
        if (usage.Cached > 0)
        {
            w.WriteStartArray("cacheTokensDetails");
            w.WriteStartObject();
            w.WriteString("modality", "TEXT");
            w.WriteNumber("tokenCount", usage.Cached);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static Task GeminiErrorBodyAsync(HttpContext http, int code, string status, string message, Action<Utf8JsonWriter>? details = null) =>
        GeminiJsonAsync(http, code, w =>
        {
            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteString("message", message);
            w.WriteString("status", status);
            if (details is not null)
            {
                w.WriteStartArray("details");
                details(w);
                w.WriteEndArray();
            }

            w.WriteEndObject();
        });

    /// <summary>Google's JSON answers are pretty-printed.</summary>
    private static async Task GeminiJsonAsync(HttpContext http, int status, Action<Utf8JsonWriter> body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=UTF-8";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    /// <summary>One SSE event as Gemini frames it: data: {json} and a CRLF blank line.</summary>
    private static async Task GeminiSseAsync(HttpContext http, Action<Utf8JsonWriter> body)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write("data: "u8);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        buffer.Write("\r\n\r\n"u8);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
