using System.Buffers;
using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The OpenAI-compatible surface: <c>POST /v1/chat/completions</c> (JSON and SSE) and <c>GET /v1/models</c>.</summary>
internal static class ChatCompletionsEndpoints
{
    public static IEndpointRouteBuilder MapOpenAiEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapOpenAiGroup();
        group.MapPost("/chat/completions", ChatCompletionsAsync);
        group.MapGet("/models", ListModelsAsync);
        return routes;
    }

    private static async Task ListModelsAsync(HttpContext http, ModelCatalog catalog)
    {
        var tenant = http.Tenant();

        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var model in catalog.Models.Values.Where(m => tenant.MayUseModel(m.Name) && catalog.ProviderOf(m).Enabled).OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("id", model.Name);
                w.WriteString("object", "model");
                w.WriteNumber("created", 0);
                w.WriteString("owned_by", model.Provider);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    private static async Task ChatCompletionsAsync(HttpContext http, RouterCalls calls, IOptions<RequestLimitsOptions> limits)
    {
        var started = Stopwatch.GetTimestamp();
        var tenant = http.Tenant();

        ParsedChatRequest parsed;
        RouterContext context;
        try
        {
            using var doc = await ReadJsonAsync(http);
            parsed = OpenAiRequestParser.Parse(doc.RootElement);
            RequestLimits.Validate(parsed.Request, limits.Value);
            context = RoutingHeaders.From(http, tenant, parsed.Model, parsed.Request.User);
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex))
        {
            await OpenAiErrors.WriteExceptionAsync(http, ex);
            return;
        }

        // The call's token fires when the HTTP client goes away or when the silo running the call is lost (RouterCalls).
        using var call = calls.Begin(context, http.RequestAborted);
        try
        {
            if (parsed.Stream)
            {
                await StreamAsync(http, call, parsed, context, started);
                return;
            }

            var completion = await call.InvokeAsync((router, ctx, ct) => router.CompleteAsync(parsed.Request, ctx, ct));
            SetRouteHeaders(http, ProviderHeader.Value(completion.Provider, completion.Deployment), completion.Model, completion.CostUsd, completion.Attempts.Count, started, completion.Attempts.Sum(a => a.LatencyMs), completion.Cache);
            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var w = new Utf8JsonWriter(buffer))
            {
                OpenAiWriter.WriteCompletion(w, completion);
            }

            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the upstream call was cancelled with it.
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex, call.Lost))
        {
            // One mapping for the surface (OpenAiErrors): a lost silo is 503 with Retry-After, a budget 402, and so on.
            await OpenAiErrors.WriteExceptionAsync(http, ex, call.Lost);
        }
    }

    private static async Task StreamAsync(HttpContext http, RouterCall call, ParsedChatRequest parsed, RouterContext context, long started)
    {
        // Routing, fallback and failures before the first chunk throw here: the caller answers them as JSON errors.
        await using var stream = await Surfaces.RoutedStream.OpenAsync(call, parsed.Request, context);
        var model = stream.First?.Model ?? parsed.Model ?? "auto";
        if (stream.First is { } first)
        {
            SetRouteHeaders(http, ProviderHeader.Value(first.Provider ?? string.Empty, first.Deployment), model, null, 1, started, 0, first.Cache);
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var state = new ChunkState("chatcmpl-" + context.RequestId, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model);
        await SseFormatter.WriteAsync(Chunks(stream, parsed.IncludeUsage, http.RequestAborted), http.Response.Body, state.Format, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    /// <summary>
    /// The chunks of a chat stream as server-sent events (<see cref="SseFormatter"/>): a chunk per text or tool-call
    /// delta (the first always, with the role), the usage chunk when asked for, then <c>[DONE]</c>; an upstream failure
    /// or a lost node after the first chunk is an error event, then <c>[DONE]</c>.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<ChatChunk>> Chunks(Surfaces.RoutedStream stream, bool includeUsage, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var first = true;
        TokenUsage? usage = null;
        await foreach (var item in stream.ReadAllAsync(cancellationToken))
        {
            if (item.ErrorClass is not null)
            {
                yield return new(new ChatChunk(ErrorEvent, item));
                break;
            }

            usage = item.Usage ?? usage;
            if (item.TextDelta is not null || item.ToolCalls is not null || item.FinishReason is not null || first)
            {
                yield return new(new ChatChunk(first ? FirstEvent : null, item));
            }

            first = false;
        }

        if (includeUsage && usage is not null)
        {
            yield return new(new ChatChunk(UsageEvent, new ChatStreamItem { Usage = usage }));
        }

        yield return new(new ChatChunk(DoneEvent, null));
    }

    // Kinds of chunk, for the formatting (the chat stream's events are data lines only: no event types).
    private const string FirstEvent = "first";
    private const string ErrorEvent = "error";
    private const string UsageEvent = "usage";
    private const string DoneEvent = "done";

    /// <summary>One event of a chat stream: its kind (first, error, usage, done, or null for a delta) and item.</summary>
    private readonly record struct ChatChunk(string? Kind, ChatStreamItem? Item);

    /// <summary>Writes each chunk's JSON straight into the formatter's buffer.</summary>
    private sealed class ChunkState(string id, long created, string model)
    {
        public void Format(SseItem<ChatChunk> sse, IBufferWriter<byte> buffer)
        {
            var (kind, chunk) = sse.Data;
            if (kind == DoneEvent)
            {
                buffer.Write("[DONE]"u8);
                return;
            }

            using var w = new Utf8JsonWriter(buffer);
            var item = chunk!;
            switch (kind)
            {
                case ErrorEvent when item.ErrorClass == ProviderErrorClass.ClusterUnavailable:
                    OpenAiWriter.WriteError(w, "A node of the cluster became unavailable during the stream.", "service_unavailable", null, "cluster_unavailable");
                    break;
                case ErrorEvent:
                    OpenAiWriter.WriteError(w, item.ErrorMessage ?? "upstream failure", "upstream_error", null, item.ErrorClass?.Name());
                    break;
                case UsageEvent:
                    OpenAiWriter.WriteUsageChunk(w, id, created, model, item.Usage!);
                    break;
                default:
                    OpenAiWriter.WriteChunk(w, id, created, model, item, kind == FirstEvent);
                    break;
            }
        }
    }

    private static void SetRouteHeaders(HttpContext http, string provider, string model, decimal? cost, int attempts, long started, double upstreamMs, string? cache) =>
        Surfaces.RouteResponseHeaders.Set(http, provider, model, cost, attempts, started, upstreamMs, cache);

    /// <summary>
    /// Reads the body as JSON, never more than Kestrel's <c>MaxRequestBodySize</c> (<see cref="RequestLimitsOptions.MaxBodyBytes"/>):
    /// a larger body is refused while it is read (<see cref="RequestTooLargeException"/>, a 413), not buffered.
    /// </summary>
    internal static async Task<JsonDocument> ReadJsonAsync(HttpContext http)
    {
        // Refuse a declared oversize body before reading it, so a client sending 'Expect: 100-continue' gets the 413 unsent.
        if (http.Request.ContentLength is { } length && http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } max && length > max)
        {
            throw new RequestTooLargeException($"The request body ({length} bytes) is larger than this gateway accepts ({max} bytes).");
        }

        try
        {
            return await JsonDocument.ParseAsync(http.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, http.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new InvalidRequestException(null, "The request body is not valid JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            throw new RequestTooLargeException($"The request body is larger than this gateway accepts ({limit} bytes).");
        }
    }
}
