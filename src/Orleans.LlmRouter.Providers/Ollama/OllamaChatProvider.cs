using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Ollama;

/// <summary>
/// Adapter for Ollama's native API (<c>base_url</c>, default <c>http://localhost:11434</c>): <c>POST /api/chat</c>
/// (one JSON object, or NDJSON read line by line as it arrives), <c>POST /api/embed</c>, and <c>GET /api/tags</c> for
/// the model list and the health probe. Every failure becomes a typed error: HTTP statuses, an <c>{"error":…}</c>
/// line after a 200, a stream that ends without its <c>done:true</c> line or an answer not in the documented shape
/// (upstream_invalid_response), the per-provider timeout and the stream idle timeout between lines as opposed to the
/// caller's cancellation, and refused connections. Ollama needs no key; when the
/// provider has one (a proxy in front of Ollama) it is sent as a bearer token and never appears in an error.
/// Provider options: <c>keep_alive</c> (seconds or a duration such as <c>10m</c>) and <c>num_ctx</c>.
/// </summary>
internal sealed class OllamaChatProvider : IChatProvider
{
    /// <summary>Where Ollama listens when <c>base_url</c> is not set.</summary>
    public const string DefaultBaseUrl = "http://localhost:11434";

    private readonly ProviderDefinition _provider;
    private readonly UpstreamHttp _upstream;
    private readonly string? _apiKey;
    private readonly OllamaRequestSettings _settings;

    /// <summary>Creates the adapter for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeouts, options).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="apiKey">An optional key, sent as a bearer token (a proxy in front of Ollama).</param>
    /// <param name="time">The clock of the stream idle timeout (the system clock when null).</param>
    public OllamaChatProvider(ProviderDefinition provider, HttpClient http, string? apiKey, TimeProvider? time = null)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _apiKey = apiKey is { Length: > 0 } ? apiKey : null;
        _settings = OllamaRequestSettings.From(provider.Options);
        var key = _apiKey;
        _upstream = new UpstreamHttp(
            provider,
            http,
            DefaultBaseUrl,
            key,
            headers =>
            {
                if (key is not null)
                {
                    headers.Authorization = new AuthenticationHeaderValue("Bearer", key); // e.g. a proxy in front of Ollama
                }
            },
            (response, text, model) => OllamaErrors.FromResponse(response, text, _provider, model, key),
            time);
    }

    public Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _upstream.ReadAsync(call.Model, () => CompleteCoreAsync(call, cancellationToken), cancellationToken);
    }

    public IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _upstream.Guard(StreamCoreAsync(call, cancellationToken), call.Model, cancellationToken);
    }

    /// <summary>A chat answer: an <c>error</c> is the typed error, else a <c>message</c> object is required.</summary>
    private async Task<ProviderResponse> CompleteCoreAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        var body = ChatBody(call, stream: false);
        using var response = await SendAsync(HttpMethod.Post, "api/chat", body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken), call.Model);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            throw OllamaErrors.FromStreamError(error, _provider, call.Model, _apiKey);
        }

        var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : throw _upstream.Invalid(call.Model, "the answer has no message");
        var content = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        var toolCalls = OllamaWire.ToolCalls(message);
        var chat = new RouterMessage("assistant", string.IsNullOrEmpty(content) ? [] : [ContentPart.FromText(content)], ToolCalls: toolCalls.Count > 0 ? toolCalls : null);
        return new ProviderResponse(chat, OllamaWire.FinishReason(DoneReason(root), toolCalls.Count > 0), OllamaWire.Usage(root));
    }

    /// <summary>The NDJSON lines as they arrive, ending at the <c>done:true</c> line (a stream that ends before it is truncated).</summary>
    private async IAsyncEnumerable<ProviderStreamChunk> StreamCoreAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var body = ChatBody(call, stream: true);
        using var response = await SendAsync(HttpMethod.Post, "api/chat", body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var lines = _upstream.ReadLinesAsync(response, call.Model, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var toolCalls = new List<ToolCall>();
        string finish;
        TokenUsage usage;
        while (true)
        {
            var line = await lines.MoveNextAsync() ? lines.Current : throw _upstream.Truncated(call.Model);
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var doc = Parse(line, call.Model);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                throw OllamaErrors.FromStreamError(error, _provider, call.Model, _apiKey);
            }

            if (root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                toolCalls.AddRange(OllamaWire.ToolCalls(message));
                if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
                {
                    yield return new ProviderStreamChunk(TextDelta: text);
                }
            }

            if (root.TryGetProperty("done", out var done) && done.ValueKind == JsonValueKind.True)
            {
                finish = OllamaWire.FinishReason(DoneReason(root), toolCalls.Count > 0);
                usage = OllamaWire.Usage(root);
                break;
            }
        }

        if (toolCalls.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: toolCalls);
        }

        yield return new ProviderStreamChunk(FinishReason: finish, Usage: usage);
    }

    public Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _upstream.ReadAsync(call.Model, () => EmbedCoreAsync(call, cancellationToken), cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        _upstream.ReadAsync(null, () => ListModelsCoreAsync(cancellationToken), cancellationToken);

    private async Task<EmbeddingResponse> EmbedCoreAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        var body = OllamaWire.EmbedRequest(call.Inputs, call.Model.ProviderModel, call.Dimensions, _settings);
        using var response = await SendAsync(HttpMethod.Post, "api/embed", body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken), call.Model);
        var root = doc.RootElement;
        var vectors = root.TryGetProperty("embeddings", out var e) && e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList()
            : [];
        if (vectors.Count != call.Inputs.Count)
        {
            throw _upstream.Invalid(call.Model, $"{vectors.Count} embeddings returned for {call.Inputs.Count} inputs");
        }

        return new EmbeddingResponse(vectors, OllamaWire.Usage(root).PromptTokens);
    }

    private async Task<IReadOnlyList<string>> ListModelsCoreAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/tags", null, null, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken), null);
        if (!doc.RootElement.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return models.EnumerateArray()
            .Select(m => (m.TryGetProperty("name", out var n) ? n.GetString() : null) ?? (m.TryGetProperty("model", out var id) ? id.GetString() : null))
            .OfType<string>()
            .ToList();
    }

    public async Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var models = await ListModelsAsync(cancellationToken);
        return new ProviderHealthProbe(true, $"{models.Count} models", Stopwatch.GetElapsedTime(started));
    }

    private static string? DoneReason(JsonElement root) =>
        root.TryGetProperty("done_reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;

    private byte[] ChatBody(ProviderCall call, bool stream) =>
        OllamaWire.ChatRequest(call.Request, call.Model.ProviderModel, stream, _settings,
            reason => ProviderException.Create(ProviderErrorClass.BadRequest, _provider, call.Model, null, reason));

    private JsonDocument Parse(byte[] json, ModelDefinition? model) => Parse(() => JsonDocument.Parse(json), model);

    private JsonDocument Parse(string json, ModelDefinition? model) => Parse(() => JsonDocument.Parse(json), model);

    private JsonDocument Parse(Func<JsonDocument> parse, ModelDefinition? model)
    {
        JsonDocument doc;
        try
        {
            doc = parse();
        }
        catch (JsonException ex)
        {
            throw _upstream.Invalid(model, ex is { LineNumber: { } line, BytePositionInLine: { } at } ? $"malformed JSON from Ollama (line {line + 1}, byte {at + 1})" : "malformed JSON from Ollama", ex);
        }

        var kind = doc.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw _upstream.Invalid(model, $"Ollama answered with a JSON {kind}, not an object");
        }

        return doc;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken) =>
        _upstream.SendAsync(method, path, body, model, completion, cancellationToken);
}
