using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// Adapter for Amazon Bedrock's Converse API: <c>POST /model/{modelId}/converse</c> and
/// <c>/model/{modelId}/converse-stream</c> (an <c>application/vnd.amazon.eventstream</c> body read frame by frame with
/// its CRCs checked, <see cref="EventStreamReader"/>), every request SigV4-signed for service <c>bedrock</c> in the
/// provider's region (<see cref="SigV4Signer"/>, credentials from <see cref="AwsCredentialSource"/>). Errors by
/// Bedrock's exception types (<see cref="BedrockErrors"/>), also mid-stream. The secret key never leaves the signer.
/// </summary>
internal sealed class BedrockChatProvider : IChatProvider
{
    private readonly ProviderDefinition _provider;
    private readonly UpstreamHttp _upstream;

    public BedrockChatProvider(ProviderDefinition provider, HttpClient http, SigV4Signer signer, AwsCredentialSource credentials, TimeProvider? time = null)
    {
        _provider = provider ?? throw new ArgumentNullException(nameof(provider));
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(credentials);
        var baseUrl = provider.BaseUrl ?? $"https://bedrock-runtime.{signer.Region}.amazonaws.com";
        _upstream = new UpstreamHttp(provider, http, baseUrl, null, null, (response, body, model) => BedrockErrors.FromResponse(response, body, provider, model, time), time)
        {
            Prepare = async (request, body, _) =>
            {
                request.RequestUri = new Uri(http.BaseAddress!, request.RequestUri!);
                signer.Sign(request, body, await credentials.GetAsync());
            },
        };
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

    /// <summary>Converse: <c>output.message.content</c> is required (text and toolUse blocks), the rest is read tolerantly.</summary>
    private async Task<ProviderResponse> CompleteCoreAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        var body = BedrockWire.ConverseRequest(call.Request, call.Model, _provider);
        using var response = await _upstream.SendAsync(HttpMethod.Post, PathOf(call.Model, "converse"), body, call.Model, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        var root = doc.RootElement;
        if (!root.TryGetProperty("output", out var output) || !output.TryGetProperty("message", out var message)
            || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            throw _upstream.Invalid(call.Model, "the answer has no output.message.content");
        }

        var text = new StringBuilder();
        var tools = new List<ToolCall>();
        foreach (var block in content.EnumerateArray())
        {
            if (block.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            {
                text.Append(t.GetString());
            }
            else if (block.TryGetProperty("toolUse", out var use))
            {
                tools.Add(new ToolCall(use.GetProperty("toolUseId").GetString() ?? string.Empty, use.GetProperty("name").GetString() ?? string.Empty, use.TryGetProperty("input", out var input) ? Common.WireHelpers.CompactObject(input) : "{}"));
            }
        }

        var stop = root.TryGetProperty("stopReason", out var sr) && sr.ValueKind == JsonValueKind.String ? sr.GetString() : null;
        var chat = new RouterMessage("assistant", text.Length == 0 ? [] : [ContentPart.FromText(text.ToString())], ToolCalls: tools.Count > 0 ? tools : null);
        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
        return new ProviderResponse(chat, BedrockWire.FinishReason(stop, tools.Count > 0), BedrockWire.Usage(root.TryGetProperty("usage", out var u) ? u : default), requestId);
    }

    /// <summary>
    /// ConverseStream's events as they arrive: text deltas handed on at once, tool input pieces joined per content
    /// block, the stop reason from <c>messageStop</c> (a body that ends before it is truncated) and the usage from
    /// <c>metadata</c> (null when absent, so the router estimates). An <c>exception</c> message is a typed error.
    /// </summary>
    private async IAsyncEnumerable<ProviderStreamChunk> StreamCoreAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var body = BedrockWire.ConverseRequest(call.Request, call.Model, _provider);
        using var response = await _upstream.SendAsync(HttpMethod.Post, PathOf(call.Model, "converse-stream"), body, call.Model, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var tools = new SortedDictionary<int, (string Id, string Name, StringBuilder Input)>();
        string? stop = null;
        TokenUsage? usage = null;
        var stopped = false;
        await foreach (var message in _upstream.ReadFramesAsync(response, call.Model, EventStreamReader.ReadAsync, cancellationToken))
        {
            if (message.MessageType != "event")
            {
                throw BedrockErrors.FromStreamException(message.Name, message.Payload.Span, _provider, call.Model);
            }

            using var doc = JsonDocument.Parse(message.Payload);
            var root = doc.RootElement;
            var index = root.TryGetProperty("contentBlockIndex", out var ix) && ix.TryGetInt32(out var i) ? i : 0;
            switch (message.Name)
            {
                case "contentBlockStart" when root.TryGetProperty("start", out var start) && start.TryGetProperty("toolUse", out var use):
                    tools[index] = (use.GetProperty("toolUseId").GetString() ?? string.Empty, use.GetProperty("name").GetString() ?? string.Empty, new StringBuilder());
                    break;
                case "contentBlockDelta":
                    var delta = root.GetProperty("delta");
                    if (delta.TryGetProperty("text", out var t) && t.GetString() is { Length: > 0 } piece)
                    {
                        yield return new ProviderStreamChunk(TextDelta: piece);
                    }
                    else if (delta.TryGetProperty("toolUse", out var input) && tools.TryGetValue(index, out var tool))
                    {
                        tool.Input.Append(input.TryGetProperty("input", out var part) ? part.GetString() : null);
                    }

                    break;
                case "messageStop":
                    stopped = true;
                    stop = root.TryGetProperty("stopReason", out var sr) ? sr.GetString() : null;
                    break;
                case "metadata":
                    usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object ? BedrockWire.Usage(u) : usage;
                    break;
            }
        }

        if (!stopped)
        {
            throw _upstream.Truncated(call.Model);
        }

        if (tools.Count > 0)
        {
            yield return new ProviderStreamChunk(ToolCalls: tools.Values.Select(t => new ToolCall(t.Id, t.Name, OpenAiWire.NormalizeArguments(t.Input.ToString()))).ToList());
        }

        yield return new ProviderStreamChunk(FinishReason: BedrockWire.FinishReason(stop, tools.Count > 0), Usage: usage);
    }

    public Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        throw ProviderException.Create(ProviderErrorClass.BadRequest, _provider, call.Model, null, "the bedrock provider type serves chat (Converse); embeddings are not supported");
    }

    /// <summary>Bedrock's runtime endpoint has no model list (that is the control plane's); the catalog names the models.</summary>
    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ProviderHealthProbe(true, "not probed: Bedrock's runtime endpoint has no free call; failures feed the breaker", TimeSpan.Zero));

    private static string PathOf(ModelDefinition model, string operation) => $"model/{Uri.EscapeDataString(model.ProviderModel)}/{operation}";
}
