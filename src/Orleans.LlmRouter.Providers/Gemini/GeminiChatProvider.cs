using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>
/// Adapter for the Google Gemini Developer API (<c>generativelanguage.googleapis.com/v1beta</c>):
/// <c>models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c> (read event by event with the
/// provider's idle timeout between them; a stream must end with a candidate's <c>finishReason</c>), <c>:batchEmbedContents</c> and <c>GET models</c>. The key travels only in the
/// <c>x-goog-api-key</c> header, never in the URL, and is redacted from every error. Failures (HTTP status, an error
/// object mid-stream, a blocked prompt, timeout, stall, connection, an answer not in the documented shape) become the
/// typed provider errors.
/// </summary>
internal sealed class GeminiChatProvider : IChatProvider
{
    /// <summary>Gemini takes at most this many requests in one <c>batchEmbedContents</c> call.</summary>
    private const int EmbedBatchSize = 100;

    private readonly ProviderDefinition _provider;
    private readonly UpstreamHttp _upstream;
    private readonly string? _apiKey;

    /// <summary>Creates the adapter for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeouts, options).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="apiKey">The key, sent as <c>x-goog-api-key</c>.</param>
    /// <param name="time">The clock of the stream idle timeout (the system clock when null).</param>
    public GeminiChatProvider(ProviderDefinition provider, HttpClient http, string? apiKey, TimeProvider? time = null)
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
            (response, text, model) => GeminiErrors.FromResponse(response, text, _provider, model, Redact),
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

    /// <summary>A GenerateContentResponse: a non-empty <c>candidates</c> array is required unless the prompt was blocked.</summary>
    private async Task<ProviderResponse> CompleteCoreAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        var body = RequestBody(call);
        using var response = await SendAsync(HttpMethod.Post, ModelPath(call.Model, "generateContent"), body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var json = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        using var doc = ParseResponse(json, call.Model);
        var root = doc.RootElement;
        if (GeminiWire.BlockReason(root) is { } blocked)
        {
            throw ProviderException.Create(ProviderErrorClass.ContentPolicy, _provider, call.Model, (int)response.StatusCode, $"the prompt was blocked ({blocked})");
        }

        if (!root.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
        {
            throw _upstream.Invalid(call.Model, "the answer has no candidates");
        }

        var responseId = root.TryGetProperty("responseId", out var rid) && rid.ValueKind == JsonValueKind.String ? rid.GetString() : null;
        var text = new StringBuilder();
        var toolCalls = new List<ToolCall>();
        var finish = GeminiWire.ReadCandidate(root, text, toolCalls, responseId);
        var message = new RouterMessage("assistant", text.Length == 0 ? [] : [ContentPart.FromText(text.ToString())], ToolCalls: toolCalls.Count > 0 ? toolCalls : null);
        var usage = GeminiWire.Usage(root.TryGetProperty("usageMetadata", out var u) ? u : default);
        return new ProviderResponse(message, GeminiWire.FinishReason(finish, toolCalls.Count > 0), usage, responseId);
    }

    /// <summary>
    /// The SSE events as they arrive. Each is a whole GenerateContentResponse; there is no [DONE]: the stream ends
    /// after the candidate that carries <c>finishReason</c>, and one that ends before it is truncated.
    /// </summary>
    private async IAsyncEnumerable<ProviderStreamChunk> StreamCoreAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var body = RequestBody(call);
        using var response = await SendAsync(HttpMethod.Post, ModelPath(call.Model, "streamGenerateContent") + "?alt=sse", body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var toolCalls = new List<ToolCall>();
        var text = new StringBuilder();
        string? finish = null;
        TokenUsage? usage = null;
        var enumerator = _upstream.ReadEventsAsync(response, call.Model, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (enumerator)
        {
            while (true)
            {
                if (!await enumerator.MoveNextAsync())
                {
                    break;
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
            throw _upstream.Truncated(call.Model);
        }

        if (toolCalls.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: toolCalls);
        }

        yield return new ProviderStreamChunk(FinishReason: GeminiWire.FinishReason(finish, toolCalls.Count > 0), Usage: usage ?? TokenUsage.Zero);
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
                throw _upstream.Invalid(call.Model, $"expected {batch.Length} embeddings in the answer");
            }

            vectors.AddRange(embeddings.EnumerateArray().Select(v => v.GetProperty("values").EnumerateArray().Select(x => x.GetSingle()).ToArray()));
        }

        // batchEmbedContents reports no token usage, so the billed prompt tokens are our estimate.
        return new EmbeddingResponse(vectors, call.Inputs.Sum(TokenEstimator.EstimateText));
    }

    private async Task<IReadOnlyList<string>> ListModelsCoreAsync(CancellationToken cancellationToken)
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
        _upstream.Invalid(model, ex is { LineNumber: { } line, BytePositionInLine: { } at } ? $"the answer is not valid JSON (line {line + 1}, byte {at + 1})" : "the answer is not valid JSON", ex);

    /// <summary>Defence in depth: no provider text ever carries the key into a message.</summary>
    private string Redact(string text) => _apiKey is { Length: > 0 } key ? text.Replace(key, "***", StringComparison.Ordinal) : text;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken) =>
        _upstream.SendAsync(method, path, body, model, completion, cancellationToken);
}
