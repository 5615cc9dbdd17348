using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.OpenAi;

/// <summary>
/// Adapter for OpenAI and every OpenAI-compatible API, chosen by <c>base_url</c> (DeepSeek, vLLM, a LiteLLM proxy,
/// Ollama's /v1). Sends <c>max_completion_tokens</c> to api.openai.com and <c>max_tokens</c> elsewhere (option
/// <c>max_tokens_field</c> overrides), streams server-sent events without buffering (ending at <c>data: [DONE]</c>, with
/// the provider's idle timeout between chunks), and maps every failure (HTTP status, mid-stream error payload, timeout,
/// stall, connection, an answer not in the documented shape) to the typed errors. The key is sent as a bearer
/// token and never appears in an error.
/// </summary>
internal sealed class OpenAiChatProvider : IChatProvider
{
    private readonly ProviderDefinition _provider;
    private readonly UpstreamHttp _upstream;
    private readonly string? _apiKey;
    private readonly bool _legacyMaxTokens;
    private readonly OpenAiDialect _dialect;

    /// <summary>Creates the adapter for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeouts, options).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="apiKey">The key, sent as a bearer token.</param>
    /// <param name="time">The clock of the stream idle timeout (the system clock when null).</param>
    public OpenAiChatProvider(ProviderDefinition provider, HttpClient http, string? apiKey, TimeProvider? time = null)
        : this(provider, OpenAiUpstream(provider, http, apiKey, time), apiKey, LegacyMaxTokens(provider), OpenAiDialect.OpenAi)
    {
    }

    /// <summary>The wire format over another API's plumbing (authentication, paths, errors): Azure OpenAI.</summary>
    internal OpenAiChatProvider(ProviderDefinition provider, UpstreamHttp upstream, string? secret, bool legacyMaxTokens, OpenAiDialect dialect)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        _upstream = upstream;
        _apiKey = secret;
        _legacyMaxTokens = legacyMaxTokens;
        _dialect = dialect;
    }

    private static UpstreamHttp OpenAiUpstream(ProviderDefinition provider, HttpClient http, string? apiKey, TimeProvider? time) =>
        new(provider, http, "https://api.openai.com", apiKey, headers =>
        {
            if (apiKey is { Length: > 0 })
            {
                headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
        }, time: time);

    /// <summary>Chat Completions takes a PDF as <c>file_data</c> only: a document given by URL is the caller's bad request here.</summary>
    private void RefuseUrlDocuments(ProviderCall call)
    {
        if (call.Request.Messages.Any(m => m.Content.Any(p => p.Kind == ContentPartKind.Document && p.Data is null)))
        {
            throw ProviderException.Create(ProviderErrorClass.BadRequest, _provider, call.Model, null, "the OpenAI Chat Completions API takes PDF documents as data, not by URL");
        }
    }

    /// <summary><c>max_tokens</c> everywhere but api.openai.com, unless option <c>max_tokens_field</c> says.</summary>
    private static bool LegacyMaxTokens(ProviderDefinition provider) =>
        provider.Options.TryGetValue("max_tokens_field", out var field)
            ? field == "max_tokens"
            : !new Uri(provider.BaseUrl ?? "https://api.openai.com").Host.EndsWith("openai.com", StringComparison.OrdinalIgnoreCase);

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

    /// <summary>A chat.completion body: <c>choices[0].message</c> is required, the rest is read tolerantly.</summary>
    private async Task<ProviderResponse> CompleteCoreAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        RefuseUrlDocuments(call);
        var body = OpenAiWire.ChatRequest(call.Request, call.Model.ProviderModel, stream: false, _legacyMaxTokens, ReasoningEffort(call));
        using var response = await SendAsync(HttpMethod.Post, _dialect.ChatPath(call.Model), body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var json = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            throw _upstream.Invalid(call.Model, "the answer has no choices");
        }

        var choice = choices[0];
        if (!choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            throw _upstream.Invalid(call.Model, "the answer's first choice has no message");
        }

        if (_dialect.FailedChoice?.Invoke(choice, call.Model) is { } failed)
        {
            throw failed;
        }

        var toolCalls = new List<ToolCall>();
        if (message.TryGetProperty("tool_calls", out var tc) && tc.ValueKind == JsonValueKind.Array)
        {
            foreach (var c in tc.EnumerateArray())
            {
                var fn = c.GetProperty("function");
                toolCalls.Add(new ToolCall(c.GetProperty("id").GetString() ?? string.Empty, fn.GetProperty("name").GetString() ?? string.Empty, OpenAiWire.NormalizeArguments(fn.TryGetProperty("arguments", out var a) ? a.GetString() : null)));
            }
        }

        var content = message.TryGetProperty("content", out var ct) && ct.ValueKind == JsonValueKind.String ? ct.GetString() : null;
        if (content is null && message.TryGetProperty("refusal", out var refusal) && refusal.ValueKind == JsonValueKind.String)
        {
            throw ProviderException.Create(ProviderErrorClass.ContentPolicy, _provider, call.Model, 200, refusal.GetString() ?? "refused");
        }

        var finish = OpenAiWire.FinishReason(choice.TryGetProperty("finish_reason", out var fr) ? fr.GetString() : null, toolCalls.Count > 0);
        var chat = new RouterMessage("assistant", content is null ? [] : [ContentPart.FromText(content)], ToolCalls: toolCalls.Count > 0 ? toolCalls : null);
        return new ProviderResponse(chat, finish, OpenAiWire.Usage(root.TryGetProperty("usage", out var u) ? u : default), root.TryGetProperty("id", out var id) ? id.GetString() : null);
    }

    /// <summary>
    /// The SSE chunks as they arrive, ending at <c>data: [DONE]</c> (a stream that ends before it is truncated). The
    /// last chunk carries the finish reason and the usage chunk's counts, or null usage when the server sent none.
    /// </summary>
    private async IAsyncEnumerable<ProviderStreamChunk> StreamCoreAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RefuseUrlDocuments(call);
        var body = OpenAiWire.ChatRequest(call.Request, call.Model.ProviderModel, stream: true, _legacyMaxTokens, ReasoningEffort(call));
        using var response = await SendAsync(HttpMethod.Post, _dialect.ChatPath(call.Model), body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var tools = new SortedDictionary<int, (string Id, string Name, System.Text.StringBuilder Args)>();
        string? finish = null;
        TokenUsage? usage = null;
        var done = false;
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
                if (data == "[DONE]")
                {
                    done = true;
                    break;
                }

                using var doc = JsonDocument.Parse(data);
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                {
                    throw HttpErrors.FromStreamError(error, _provider, call.Model, _apiKey);
                }

                if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
                {
                    usage = OpenAiWire.Usage(u);
                }

                if (!root.TryGetProperty("choices", out var choices) || choices.GetArrayLength() == 0)
                {
                    continue;
                }

                var choice = choices[0];
                if (choice.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String)
                {
                    finish = fr.GetString();
                    if (_dialect.FailedChoice?.Invoke(choice, call.Model) is { } failed)
                    {
                        throw failed; // after the chunks already handed on
                    }
                }

                if (!choice.TryGetProperty("delta", out var delta))
                {
                    continue;
                }

                if (delta.TryGetProperty("tool_calls", out var tc) && tc.ValueKind == JsonValueKind.Array)
                {
                    foreach (var piece in tc.EnumerateArray())
                    {
                        var index = piece.TryGetProperty("index", out var ix) ? ix.GetInt32() : 0;
                        var entry = tools.TryGetValue(index, out var existing) ? existing : (string.Empty, string.Empty, new System.Text.StringBuilder());
                        var id = piece.TryGetProperty("id", out var pid) && pid.ValueKind == JsonValueKind.String ? pid.GetString()! : entry.Item1;
                        var name = entry.Item2;
                        if (piece.TryGetProperty("function", out var fn))
                        {
                            name = fn.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : name;
                            entry.Item3.Append(fn.TryGetProperty("arguments", out var args) ? args.GetString() : null);
                        }

                        tools[index] = (id, name, entry.Item3);
                    }
                }

                if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } text)
                {
                    yield return new ProviderStreamChunk(TextDelta: text);
                }
            }
        }

        if (!done)
        {
            throw _upstream.Truncated(call.Model);
        }

        if (tools.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: tools.Values.Select(t => new ToolCall(t.Id, t.Name, OpenAiWire.NormalizeArguments(t.Args.ToString()))).ToList());
        }

        // No usage chunk (many compatible servers omit it): null, so the router estimates and flags the usage.
        yield return new ProviderStreamChunk(FinishReason: OpenAiWire.FinishReason(finish, tools.Count > 0), Usage: usage);
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
        using var response = await SendAsync(HttpMethod.Post, _dialect.EmbeddingsPath(call.Model), OpenAiWire.EmbeddingsRequest(call.Inputs, call.Model.ProviderModel, call.Dimensions), call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        var vectors = doc.RootElement.GetProperty("data").EnumerateArray()
            .OrderBy(d => d.GetProperty("index").GetInt32())
            .Select(d => d.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray())
            .ToList();
        if (vectors.Count != call.Inputs.Count)
        {
            throw _upstream.Invalid(call.Model, $"{vectors.Count} embeddings returned for {call.Inputs.Count} inputs");
        }

        var usage = OpenAiWire.Usage(doc.RootElement.TryGetProperty("usage", out var u) ? u : default);
        return new EmbeddingResponse(vectors, usage.PromptTokens);
    }

    private async Task<IReadOnlyList<string>> ListModelsCoreAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, _dialect.ModelsPath, null, null, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        return doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    public async Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var models = await ListModelsAsync(cancellationToken);
        return new ProviderHealthProbe(true, $"{models.Count} models", Stopwatch.GetElapsedTime(started));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body, ModelDefinition? model, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var response = await _upstream.SendAsync(method, path, body, model, completion, cancellationToken);
        _dialect.Answered?.Invoke(response, model);
        return response;
    }

    // reasoning_effort only to models that take it (the reasoning capability): others would refuse the field.
    private static string? ReasoningEffort(ProviderCall call) =>
        call.Model.Has(Capability.Reasoning) ? ReasoningMapping.EffortOf(call.Request) : null;
}
