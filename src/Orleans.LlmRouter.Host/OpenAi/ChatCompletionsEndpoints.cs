using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The OpenAI-compatible surface: <c>POST /v1/chat/completions</c> (JSON and SSE) and <c>GET /v1/models</c>.</summary>
public static class ChatCompletionsEndpoints
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

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
        RoutingContext context;
        try
        {
            using var doc = await ReadJsonAsync(http);
            parsed = OpenAiRequestParser.Parse(doc.RootElement);
            RequestLimits.Validate(parsed.Request, limits.Value);
            context = RoutingHeaders.From(http, tenant, parsed.Model);
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

            var completion = await call.Router.CompleteAsync(parsed.Request, context, call.Token);
            SetRouteHeaders(http, completion.Provider, completion.Model, completion.CostUsd, completion.Attempts.Count, started, completion.Attempts.Sum(a => a.LatencyMs));
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

    private static async Task StreamAsync(HttpContext http, RouterCall call, ParsedChatRequest parsed, RoutingContext context, long started)
    {
        var id = "chatcmpl-" + context.RequestId;
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var buffer = new ArrayBufferWriter<byte>(512);
        await using var writer = new Utf8JsonWriter(buffer);
        var first = true;
        string model = parsed.Model ?? "auto";
        TokenUsage? usage = null;
        await using var items = call.Router.StreamAsync(parsed.Request, context, call.Token).GetAsyncEnumerator(call.Token);
        while (true)
        {
            try
            {
                if (!await items.MoveNextAsync())
                {
                    break;
                }
            }
            catch (Exception ex) when (!first && ((call.Lost && ex is OperationCanceledException) || OpenAiErrors.IsClusterFault(ex)))
            {
                // Lost mid-stream (after the status line went out): end the stream with an error event.
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
                OpenAiWriter.WriteError(writer, "A node of the cluster became unavailable during the stream.", "service_unavailable", null, "cluster_unavailable");
                await writer.FlushAsync(http.RequestAborted);
                await WriteEventAsync(http, buffer);
                break;
            }

            var item = items.Current;
            if (first)
            {
                model = item.Model ?? model;
                SetRouteHeaders(http, item.Provider ?? string.Empty, model, null, 1, started, 0);
                http.Response.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            }

            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            if (item.ErrorClass is { } errorClass)
            {
                OpenAiWriter.WriteError(writer, item.ErrorMessage ?? "upstream failure", "upstream_error", null, errorClass);
                await writer.FlushAsync(http.RequestAborted);
                await WriteEventAsync(http, buffer);
                break;
            }

            usage = item.Usage ?? usage;
            if (item.TextDelta is not null || item.ToolCalls is not null || item.FinishReason is not null || first)
            {
                OpenAiWriter.WriteChunk(writer, id, created, model, item, first);
                await writer.FlushAsync(http.RequestAborted);
                await WriteEventAsync(http, buffer);
            }

            first = false;
        }

        if (parsed.IncludeUsage && usage is not null)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            OpenAiWriter.WriteUsageChunk(writer, id, created, model, usage);
            await writer.FlushAsync(http.RequestAborted);
            await WriteEventAsync(http, buffer);
        }

        await http.Response.Body.WriteAsync(Done, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    private static async Task WriteEventAsync(HttpContext http, ArrayBufferWriter<byte> json)
    {
        var body = http.Response.Body;
        await body.WriteAsync(DataPrefix, http.RequestAborted);
        await body.WriteAsync(json.WrittenMemory, http.RequestAborted);
        await body.WriteAsync(EventEnd, http.RequestAborted);
        await body.FlushAsync(http.RequestAborted);
    }

    private static void SetRouteHeaders(HttpContext http, string provider, string model, decimal? cost, int attempts, long started, double upstreamMs) =>
        Surfaces.RouteResponseHeaders.Set(http, provider, model, cost, attempts, started, upstreamMs);

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
            throw new OpenAiRequestException(null, "The request body is not valid JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            throw new RequestTooLargeException($"The request body is larger than this gateway accepts ({limit} bytes).");
        }
    }
}
