using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Anthropic;

/// <summary>
/// Adapter for Anthropic's Messages API (<c>POST /v1/messages</c>, <c>x-api-key</c>, <c>anthropic-version</c>). Streams
/// the named SSE events (message_start → content blocks → message_delta with cumulative usage → message_stop) without
/// buffering, with the provider's idle timeout between events; an <c>error</c> event after a 200 becomes the typed error
/// of its kind, a stream that ends before <c>message_stop</c> or an answer not in the documented shape an
/// <see cref="ProviderErrorClass.UpstreamInvalidResponse"/>. Anthropic has no embeddings API.
/// </summary>
internal sealed class AnthropicChatProvider : IChatProvider
{
    private readonly UpstreamHttp _http;

    /// <summary>Creates the adapter for one provider.</summary>
    /// <param name="provider">The provider (base URL, timeouts, options).</param>
    /// <param name="http">A client from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="apiKey">The key, sent as <c>x-api-key</c>.</param>
    /// <param name="time">The clock of the stream idle timeout (the system clock when null).</param>
    public AnthropicChatProvider(ProviderDefinition provider, HttpClient http, string? apiKey, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _http = new UpstreamHttp(provider, http, "https://api.anthropic.com", apiKey, headers =>
        {
            if (apiKey is { Length: > 0 })
            {
                headers.TryAddWithoutValidation("x-api-key", apiKey);
            }

            headers.TryAddWithoutValidation("anthropic-version", AnthropicWire.Version);
        }, time: time);
    }

    private ProviderDefinition Provider => _http.Provider;

    public Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _http.ReadAsync(call.Model, () => CompleteCoreAsync(call, cancellationToken), cancellationToken);
    }

    public IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _http.Guard(StreamCoreAsync(call, cancellationToken), call.Model, cancellationToken);
    }

    /// <summary>A message body: <c>content</c> (an array of blocks) is required, the rest is read tolerantly.</summary>
    private async Task<ProviderResponse> CompleteCoreAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        var body = AnthropicWire.MessagesRequest(call.Request, call.Model, Provider, stream: false);
        using var response = await _http.SendAsync(HttpMethod.Post, "v1/messages", body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        var root = doc.RootElement;
        var text = new StringBuilder();
        var tools = new List<ToolCall>();
        if (!root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            throw _http.Invalid(call.Model, "the answer has no content blocks");
        }

        foreach (var block in content.EnumerateArray())
        {
            switch (block.GetProperty("type").GetString())
            {
                case "text":
                    text.Append(block.GetProperty("text").GetString());
                    break;
                case "tool_use":
                    tools.Add(new ToolCall(block.GetProperty("id").GetString() ?? string.Empty, block.GetProperty("name").GetString() ?? string.Empty, Common.WireHelpers.CompactObject(block.GetProperty("input"))));
                    break;
            }
        }

        var stop = root.TryGetProperty("stop_reason", out var sr) ? sr.GetString() : null;
        if (stop == "refusal" && text.Length == 0 && tools.Count == 0)
        {
            throw ProviderException.Create(ProviderErrorClass.ContentPolicy, Provider, call.Model, 200, "the model refused to answer");
        }

        var message = new RouterMessage("assistant", text.Length == 0 ? [] : [ContentPart.FromText(text.ToString())], ToolCalls: tools.Count > 0 ? tools : null);
        return new ProviderResponse(message, AnthropicWire.FinishReason(stop, tools.Count > 0), AnthropicWire.Usage(root.TryGetProperty("usage", out var u) ? u : default), root.TryGetProperty("id", out var id) ? id.GetString() : null);
    }

    /// <summary>The named events as they arrive, ending at <c>message_stop</c> (a stream that ends before it is truncated).</summary>
    private async IAsyncEnumerable<ProviderStreamChunk> StreamCoreAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var body = AnthropicWire.MessagesRequest(call.Request, call.Model, Provider, stream: true);
        using var response = await _http.SendAsync(HttpMethod.Post, "v1/messages", body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var tools = new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>();
        var usage = TokenUsage.Zero;
        string? stop = null;
        var stopped = false;
        var enumerator = _http.ReadEventsAsync(response, call.Model, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (enumerator)
        {
            while (!stopped)
            {
                if (!await enumerator.MoveNextAsync())
                {
                    break;
                }

                var item = enumerator.Current;
                if (item.EventType == "ping" || string.IsNullOrWhiteSpace(item.Data))
                {
                    continue;
                }

                using var doc = JsonDocument.Parse(item.Data);
                var root = doc.RootElement;
                var type = root.TryGetProperty("type", out var t) ? t.GetString() : item.EventType;
                switch (type)
                {
                    case "message_start":
                        usage = AnthropicWire.Usage(root.GetProperty("message").TryGetProperty("usage", out var mu) ? mu : default, usage);
                        break;
                    case "content_block_start":
                        var block = root.GetProperty("content_block");
                        if (block.GetProperty("type").GetString() == "tool_use")
                        {
                            tools[root.GetProperty("index").GetInt32()] = (block.GetProperty("id").GetString() ?? string.Empty, block.GetProperty("name").GetString() ?? string.Empty, new StringBuilder());
                        }

                        break;
                    case "content_block_delta":
                        var delta = root.GetProperty("delta");
                        switch (delta.GetProperty("type").GetString())
                        {
                            case "text_delta" when delta.GetProperty("text").GetString() is { Length: > 0 } text:
                                yield return new ProviderStreamChunk(TextDelta: text);
                                break;
                            case "input_json_delta" when tools.TryGetValue(root.GetProperty("index").GetInt32(), out var tool):
                                tool.Args.Append(delta.GetProperty("partial_json").GetString());
                                break;
                        }

                        break;
                    case "message_delta":
                        if (root.GetProperty("delta").TryGetProperty("stop_reason", out var s) && s.ValueKind == JsonValueKind.String)
                        {
                            stop = s.GetString();
                        }

                        usage = AnthropicWire.Usage(root.TryGetProperty("usage", out var du) ? du : default, usage); // cumulative
                        break;
                    case "message_stop":
                        stopped = true;
                        break;
                    case "error":
                        var error = root.GetProperty("error");
                        var errorType = error.TryGetProperty("type", out var et) ? et.GetString() : null;
                        var status = AnthropicWire.StatusOf(errorType);
                        var message = _http.Scrub(error.TryGetProperty("message", out var em) ? em.GetString() : null) ?? "error in stream";
                        throw ProviderException.Create(HttpErrors.Classify(status, null, errorType, message), Provider, call.Model, status, message);
                }
            }
        }

        if (!stopped)
        {
            throw _http.Truncated(call.Model);
        }

        if (tools.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: tools.Values.Select(x => new ToolCall(x.Id, x.Name, OpenAi.OpenAiWire.NormalizeArguments(x.Args.ToString()))).ToList());
        }

        if (stop == "refusal" && usage.CompletionTokens == 0)
        {
            throw ProviderException.Create(ProviderErrorClass.ContentPolicy, Provider, call.Model, 200, "the model refused to answer");
        }

        yield return new ProviderStreamChunk(FinishReason: AnthropicWire.FinishReason(stop, tools.Count > 0), Usage: usage);
    }

    public Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        throw ProviderException.Create(ProviderErrorClass.BadRequest, Provider, call.Model, null, "Anthropic has no embeddings API; route embeddings to a model of another provider");
    }

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) =>
        _http.ReadAsync(null, () => ListModelsCoreAsync(cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<string>> ListModelsCoreAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(HttpMethod.Get, "v1/models", null, null, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        return doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    public async Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var models = await ListModelsAsync(cancellationToken);
        return new ProviderHealthProbe(true, $"{models.Count} models", Stopwatch.GetElapsedTime(started));
    }
}
