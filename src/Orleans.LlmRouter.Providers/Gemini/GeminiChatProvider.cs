using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>
/// Adapter for the Google Gemini Developer API (<c>generativelanguage.googleapis.com/v1beta</c>):
/// <c>models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c> (read with <see cref="SseParser"/>,
/// chunk by chunk), <c>:batchEmbedContents</c> and <c>GET models</c>. The key travels only in the
/// <c>x-goog-api-key</c> header, never in the URL, and is redacted from every error. Failures (HTTP status, an error
/// object mid-stream, a blocked prompt, timeout, connection) become the typed provider errors.
/// </summary>
public sealed class GeminiChatProvider : IChatProvider
{
    /// <summary>Gemini takes at most this many requests in one <c>batchEmbedContents</c> call.</summary>
    private const int EmbedBatchSize = 100;

    private readonly ProviderDefinition _provider;
    private readonly UpstreamHttp _upstream;
    private readonly string? _apiKey;

    public GeminiChatProvider(ProviderDefinition provider, HttpClient http, string? apiKey)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _apiKey = apiKey;
        _upstream = new UpstreamHttp(
            provider,
            http,
            "https://generativelanguage.googleapis.com",
            apiKey,
            headers =>
            {
                if (apiKey is { Length: > 0 })
                {
                    headers.TryAddWithoutValidation("x-goog-api-key", apiKey); // a header, never the URL: URLs reach logs
                }
            },
            (response, text, model) => GeminiErrors.FromResponse(response, text, _provider, model, Redact));
    }

    public async Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var body = RequestBody(call);
        using var response = await SendAsync(HttpMethod.Post, ModelPath(call.Model, "generateContent"), body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var json = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        using var doc = ParseResponse(json, call.Model);
        var root = doc.RootElement;
        if (GeminiWire.BlockReason(root) is { } blocked)
        {
            throw ProviderException.Create(ProviderErrorClass.ContentPolicy, _provider, call.Model, (int)response.StatusCode, $"the prompt was blocked ({blocked})");
        }

        var responseId = root.TryGetProperty("responseId", out var rid) && rid.ValueKind == JsonValueKind.String ? rid.GetString() : null;
        var text = new StringBuilder();
        var toolCalls = new List<ToolCall>();
        var finish = GeminiWire.ReadCandidate(root, text, toolCalls, responseId);
        var message = new ChatMessage("assistant", text.Length == 0 ? [] : [ContentPart.FromText(text.ToString())], ToolCalls: toolCalls.Count > 0 ? toolCalls : null);
        var usage = GeminiWire.Usage(root.TryGetProperty("usageMetadata", out var u) ? u : default);
        return new ProviderResponse(message, GeminiWire.FinishReason(finish, toolCalls.Count > 0), usage, responseId);
    }

    public async IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var body = RequestBody(call);
        using var response = await SendAsync(HttpMethod.Post, ModelPath(call.Model, "streamGenerateContent") + "?alt=sse", body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var toolCalls = new List<ToolCall>();
        var text = new StringBuilder();
        string? finish = null;
        TokenUsage? usage = null;
        var enumerator = SseParser.Create(stream).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (enumerator)
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
                {
                    throw ProviderException.Create(ProviderErrorClass.Connection, _provider, call.Model, null, Redact("the stream was cut: " + ex.Message), inner: ex);
                }

                var data = enumerator.Current.Data;
                if (string.IsNullOrWhiteSpace(data))
                {
                    continue;
                }

                // Each event is a whole GenerateContentResponse; there is no [DONE]: the stream just ends.
                using var doc = ParseResponse(data, call.Model);
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                {
                    throw GeminiErrors.FromStreamError(error, _provider, call.Model, Redact);
                }

                if (GeminiWire.BlockReason(root) is { } blocked)
                {
                    throw ProviderException.Create(ProviderErrorClass.ContentPolicy, _provider, call.Model, (int)response.StatusCode, $"the prompt was blocked ({blocked})");
                }

                if (root.TryGetProperty("usageMetadata", out var u) && u.ValueKind == JsonValueKind.Object)
                {
                    usage = GeminiWire.Usage(u); // each chunk's counts are totals so far: the last one wins
                }

                var responseId = root.TryGetProperty("responseId", out var rid) && rid.ValueKind == JsonValueKind.String ? rid.GetString() : null;
                text.Clear();
                finish = GeminiWire.ReadCandidate(root, text, toolCalls, responseId) ?? finish;
                if (text.Length > 0)
                {
                    yield return new ProviderStreamChunk(TextDelta: text.ToString());
                }
            }
        }

        if (finish is null)
        {
            throw ProviderException.Create(ProviderErrorClass.Connection, _provider, call.Model, null, "the stream ended without a finish reason");
        }

        if (toolCalls.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: toolCalls);
        }

        yield return new ProviderStreamChunk(FinishReason: GeminiWire.FinishReason(finish, toolCalls.Count > 0), Usage: usage ?? TokenUsage.Zero);
    }

    public async Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var model = GeminiWire.ModelId(call.Model.ProviderModel);
        var vectors = new List<float[]>(call.Inputs.Count);
        foreach (var batch in call.Inputs.Chunk(EmbedBatchSize))
        {
            var body = GeminiWire.BatchEmbedRequest(batch, model, call.Dimensions);
            using var response = await SendAsync(HttpMethod.Post, ModelPath(call.Model, "batchEmbedContents"), body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
            using var doc = ParseResponse(await response.Content.ReadAsByteArrayAsync(cancellationToken), call.Model);
            var embeddings = doc.RootElement.TryGetProperty("embeddings", out var e) && e.ValueKind == JsonValueKind.Array ? e : default;
            if (embeddings.ValueKind != JsonValueKind.Array || embeddings.GetArrayLength() != batch.Length)
            {
                throw ProviderException.Create(ProviderErrorClass.Server, _provider, call.Model, (int)response.StatusCode, $"expected {batch.Length} embeddings in the answer");
            }

            vectors.AddRange(embeddings.EnumerateArray().Select(v => v.GetProperty("values").EnumerateArray().Select(x => x.GetSingle()).ToArray()));
        }

        // batchEmbedContents reports no token usage, so the billed prompt tokens are our estimate.
        return new EmbeddingResponse(vectors, call.Inputs.Sum(TokenEstimator.EstimateText));
    }

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var models = new List<string>();
        string? pageToken = null;
        for (var page = 0; page < 100; page++)
        {
            var path = "v1beta/models?pageSize=1000" + (pageToken is null ? string.Empty : "&pageToken=" + Uri.EscapeDataString(pageToken));
            using var response = await SendAsync(HttpMethod.Get, path, null, null, HttpCompletionOption.ResponseContentRead, cancellationToken);
            using var doc = ParseResponse(await response.Content.ReadAsByteArrayAsync(cancellationToken), null);
            if (doc.RootElement.TryGetProperty("models", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                models.AddRange(list.EnumerateArray()
                    .Select(m => m.TryGetProperty("name", out var n) ? n.GetString() : null)
                    .OfType<string>()
                    .Select(GeminiWire.ModelId));
            }

            pageToken = doc.RootElement.TryGetProperty("nextPageToken", out var next) && next.GetString() is { Length: > 0 } token ? token : null;
            if (pageToken is null)
            {
                break;
            }
        }

        return models;
    }

    public async Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var models = await ListModelsAsync(cancellationToken);
        return new ProviderHealthProbe(true, $"{models.Count} models", Stopwatch.GetElapsedTime(started));
    }

    private static string ModelPath(ModelDefinition model, string method) =>
        $"v1beta/models/{Uri.EscapeDataString(GeminiWire.ModelId(model.ProviderModel))}:{method}";

    private byte[] RequestBody(ProviderCall call)
    {
        try
        {
            return GeminiWire.GenerateContentRequest(call.Request);
        }
        catch (GeminiRequestException ex)
        {
            throw ProviderException.Create(ProviderErrorClass.BadRequest, _provider, call.Model, null, Redact(ex.Message));
        }
    }

    private JsonDocument ParseResponse(byte[] json, ModelDefinition? model)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw NotJson(model, ex);
        }
    }

    private JsonDocument ParseResponse(string json, ModelDefinition? model)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw NotJson(model, ex);
        }
    }

    private ProviderException NotJson(ModelDefinition? model, JsonException ex) =>
        ProviderException.Create(ProviderErrorClass.Server, _provider, model, null, "the answer is not valid JSON: " + ex.Message, inner: ex);

    /// <summary>Defence in depth: no provider text ever carries the key into a message.</summary>
    private string Redact(string text) => _apiKey is { Length: > 0 } key ? text.Replace(key, "***", StringComparison.Ordinal) : text;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken) =>
        _upstream.SendAsync(method, path, body, model, completion, cancellationToken);
}

/// <summary>Registers the <c>gemini</c> provider type (the Google Gemini Developer API).</summary>
public sealed class GeminiProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null) : IChatProviderFactory
{
    public string Type => ProviderTypes.Gemini;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var key = WireHelpers.ApiKey(provider, environment);
        return new GeminiChatProvider(provider, clients.CreateClient(Http.ProviderHttpClients.NameFor(provider.Id)), key);
    }
}
