using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.MockUpstream;

/// <summary>
/// Azure OpenAI: the deployments paths (<c>/openai/deployments/{deployment}/chat/completions|embeddings?api-version=…</c>,
/// <c>api-version</c> required, <c>GET /openai/models?api-version=…</c>) and the v1 paths (<c>/openai/v1/chat/completions</c>,
/// <c>/openai/v1/embeddings</c>, <c>/openai/v1/models</c>). Requires an <c>api-key</c> header or a bearer token (401 in
/// Azure's shape otherwise; a bearer token must be <see cref="MockUpstreamServer.AzureEntraToken"/>); answers carry
/// <c>x-ms-region</c>, <c>apim-request-id</c> and <c>x-ratelimit-remaining-requests|tokens</c>. The answers and the
/// shared scenarios are OpenAI's (<see cref="MockUpstreamServer"/>), plus Azure's content filter:
/// <c>content_filter_prompt</c> (400 <c>content_filter</c> with <c>innererror.content_filter_result</c>) and
/// <c>content_filter_completion</c> (a 200 whose choice finishes with <c>content_filter</c>, also streamed).
/// </summary>
internal sealed class AzureOpenAiMockApi(MockUpstreamServer server, OpenAiMockApi openAi) : MockApi(server)
{
    /// <summary>The region every answer names.</summary>
    public const string Region = "swedencentral";

    public override void Map(WebApplication app, bool record)
    {
        app.MapPost("/openai/deployments/{deployment}/chat/completions", http => ChatAsync(http, record, deployments: true));
        app.MapPost("/openai/deployments/{deployment}/embeddings", http => EmbeddingsAsync(http, record, deployments: true));
        app.MapGet("/openai/models", http => ModelsAsync(http, deployments: true));
        app.MapPost("/openai/v1/chat/completions", http => ChatAsync(http, record, deployments: false));
        app.MapPost("/openai/v1/embeddings", http => EmbeddingsAsync(http, record, deployments: false));
        app.MapGet("/openai/v1/models", http => ModelsAsync(http, deployments: false));
    }

    private async Task ChatAsync(HttpContext http, bool record, bool deployments)
    {
        if (!await AdmitAsync(http, deployments))
        {
            return;
        }

        var scenario = await ScenarioAsync(http);
        if (scenario == "content_filter_prompt")
        {
            await WriteJson(http, 400, w =>
            {
                w.WriteStartObject("error");
                w.WriteString("message", "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.");
                w.WriteNull("type");
                w.WriteString("param", "prompt");
                w.WriteString("code", "content_filter");
                w.WriteNumber("status", 400);
                w.WriteStartObject("innererror");
                w.WriteString("code", "ResponsibleAIPolicyViolation");
                w.WriteStartObject("content_filter_result");
                Category(w, "hate", filtered: false, "safe");
                Category(w, "self_harm", filtered: false, "safe");
                Category(w, "sexual", filtered: false, "safe");
                Category(w, "violence", filtered: true, "medium");
                w.WriteStartObject("jailbreak");
                w.WriteBoolean("filtered", true);
                w.WriteBoolean("detected", true);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            });
            return;
        }

        if (scenario == "content_filter_completion")
        {
            await FilteredCompletionAsync(http, record);
            return;
        }

        await openAi.ChatAsync(http, record);
    }

    private async Task EmbeddingsAsync(HttpContext http, bool record, bool deployments)
    {
        if (await AdmitAsync(http, deployments))
        {
            await openAi.EmbeddingsAsync(http, record);
        }
    }

    private static async Task ModelsAsync(HttpContext http, bool deployments)
    {
        if (await AdmitAsync(http, deployments))
        {
            await OpenAiMockApi.OpenAiModelsAsync(http);
        }
    }

    /// <summary>The checks Azure makes before the model sees the request, and the headers every answer carries.</summary>
    private static async Task<bool> AdmitAsync(HttpContext http, bool deployments)
    {
        http.Response.Headers["x-ms-region"] = Region;
        http.Response.Headers["apim-request-id"] = Guid.NewGuid().ToString();
        http.Response.Headers["x-ratelimit-remaining-requests"] = "99";
        http.Response.Headers["x-ratelimit-remaining-tokens"] = "99000";
        if (deployments && string.IsNullOrEmpty(http.Request.Query["api-version"]))
        {
            await AzureErrorAsync(http, 404, "404", "Resource not found");
            return false;
        }

        var key = http.Request.Headers["api-key"].ToString();
        var bearer = http.Request.Headers.Authorization.ToString();
        if (key.Length == 0 && bearer != "Bearer " + MockUpstreamServer.AzureEntraToken)
        {
            await AzureErrorAsync(http, 401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
            return false;
        }

        return true;
    }

    /// <summary>The scenario of a chat request (header or marker), leaving the body readable for the OpenAI handler.</summary>
    private static async Task<string?> ScenarioAsync(HttpContext http)
    {
        if (MockScenarios.FromHeader(http) is { } header)
        {
            return header;
        }

        http.Request.EnableBuffering();
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8, leaveOpen: true);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        http.Request.Body.Position = 0;
        return MockScenarios.Marker(body);
    }

    private async Task FilteredCompletionAsync(HttpContext http, bool record)
    {
        using var doc = await ReadAsync(http, record);
        var stream = doc.RootElement.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var id = "chatcmpl-azure-" + Guid.NewGuid().ToString("N")[..12];
        if (!stream)
        {
            await WriteJson(http, 200, w =>
            {
                w.WriteString("id", id);
                w.WriteString("object", "chat.completion");
                w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
                w.WriteString("model", "gpt-4o-2024-11-20");
                w.WriteStartArray("choices");
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteNull("content");
                w.WriteEndObject();
                w.WriteString("finish_reason", "content_filter");
                FilterResults(w);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteStartObject("usage");
                w.WriteNumber("prompt_tokens", 12);
                w.WriteNumber("completion_tokens", 3);
                w.WriteNumber("total_tokens", 15);
                w.WriteEndObject();
            });
            return;
        }

        http.Response.ContentType = "text/event-stream";
        await Event(http, w => Chunk(w, id, "Once upon", finish: null));
        await Event(http, w => Chunk(w, id, " a time", finish: null));
        await Event(http, w => Chunk(w, id, null, finish: "content_filter"));
        await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
    }

    private static void Chunk(Utf8JsonWriter w, string id, string? content, string? finish)
    {
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        w.WriteString("model", "gpt-4o-2024-11-20");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (content is not null)
        {
            w.WriteString("content", content);
        }

        w.WriteEndObject();
        if (finish is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finish);
            FilterResults(w);
        }

        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void FilterResults(Utf8JsonWriter w)
    {
        w.WriteStartObject("content_filter_results");
        Category(w, "hate", filtered: false, "safe");
        Category(w, "self_harm", filtered: false, "safe");
        Category(w, "sexual", filtered: true, "high");
        Category(w, "violence", filtered: false, "low");
        w.WriteEndObject();
    }

    private static void Category(Utf8JsonWriter w, string name, bool filtered, string severity)
    {
        w.WriteStartObject(name);
        w.WriteBoolean("filtered", filtered);
        w.WriteString("severity", severity);
        w.WriteEndObject();
    }

    private static Task AzureErrorAsync(HttpContext http, int status, string code, string message) => WriteJson(http, status, w =>
    {
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    });
}
