using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>
/// The Anthropic Messages surface: <c>POST /v1/messages</c> (JSON and named SSE events) and
/// <c>POST /v1/messages/count_tokens</c>, for Claude Code and the Anthropic SDKs. The key comes as <c>x-api-key</c> or
/// <c>Authorization: Bearer</c>; <c>anthropic-version</c>, <c>anthropic-beta</c> and <c>?beta=true</c> are accepted and
/// need nothing. The body becomes the one request model and goes through the same router call as chat completions,
/// so routing, fallback, budgets, limits and the ledger are the same; any catalog model can serve it.
/// </summary>
internal static class AnthropicEndpoints
{
    public static IEndpointRouteBuilder MapAnthropicEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1").RequireAuthorization(LlmRouterAuthentication.TenantPolicy).WithMetadata(AnthropicKeyFailures.Instance);
        group.MapPost("/messages", MessagesAsync);
        group.MapPost("/messages/count_tokens", CountTokensAsync);
        return routes;
    }

    private static async Task MessagesAsync(HttpContext http, RouterCalls calls, IOptions<RequestLimitsOptions> limits)
    {
        var started = Stopwatch.GetTimestamp();
        var tenant = http.Tenant();
        ParsedAnthropicRequest parsed;
        RouterContext context;
        try
        {
            using var doc = await ChatCompletionsEndpoints.ReadJsonAsync(http);
            parsed = AnthropicRequestParser.Parse(doc.RootElement);
            RequestLimits.Validate(parsed.Request, limits.Value);
            context = RoutingHeaders.From(http, tenant, parsed.Model, parsed.Request.User);
        }
        catch (Exception ex) when (SurfaceFailure.Maps(ex))
        {
            await AnthropicErrors.WriteExceptionAsync(http, ex);
            return;
        }

        http.Response.Headers["request-id"] = context.RequestId;
        var id = "msg_" + context.RequestId;
        using var call = calls.Begin(context, http.RequestAborted);
        try
        {
            if (parsed.Stream)
            {
                await using var stream = await RoutedStream.OpenAsync(call, parsed.Request, context);
                var model = stream.First?.Model ?? parsed.Model;
                RouteResponseHeaders.Set(http, OpenAi.ProviderHeader.Value(stream.First?.Provider ?? string.Empty, stream.First?.Deployment), model, null, 1, started, 0, stream.First?.Cache);
                RouteResponseHeaders.SetWarnings(http, parsed.Warnings, parsed.Request, model, parsed.CacheControl);
                await TypedResults.ServerSentEvents(Events(stream, id, model, http.RequestAborted)).ExecuteAsync(http);
                return;
            }

            var completion = await call.InvokeAsync((router, ctx, ct) => router.CompleteAsync(parsed.Request, ctx, ct));
            RouteResponseHeaders.Set(http, OpenAi.ProviderHeader.Value(completion.Provider, completion.Deployment), completion.Model, completion.CostUsd, completion.Attempts.Count, started, completion.Attempts.Sum(a => a.LatencyMs), completion.Cache);
            RouteResponseHeaders.SetWarnings(http, parsed.Warnings, parsed.Request, completion.Model, parsed.CacheControl);
            await SurfaceJson.WriteAsync(http, StatusCodes.Status200OK, (id, completion), static (w, s) => AnthropicWriter.WriteMessage(w, s.id, s.completion));
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the upstream call was cancelled with it.
        }
        catch (Exception ex) when (SurfaceFailure.Maps(ex, call.Lost))
        {
            await AnthropicErrors.WriteExceptionAsync(http, ex, call.Lost);
        }
    }

    /// <summary>
    /// The named events of a Messages stream, in Anthropic's order: <c>message_start</c>, <c>ping</c>, then per content
    /// block <c>content_block_start</c>, its deltas (<c>text_delta</c>, <c>input_json_delta</c>) and
    /// <c>content_block_stop</c>, then <c>message_delta</c> with the stop reason and usage, and <c>message_stop</c>.
    /// An upstream failure or a lost node after the first event ends the stream with an <c>error</c> event.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Events(RoutedStream stream, string id, string model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return SurfaceJson.Event("message_start", (id, model), AnthropicWriter.WriteMessageStart);
        yield return SurfaceJson.Event("ping", 0, AnthropicWriter.WritePing);
        var index = -1;
        var textOpen = false;
        string? finish = null;
        TokenUsage? usage = null;
        await foreach (var item in stream.ReadAllAsync(cancellationToken))
        {
            if (item.ErrorClass is { } errorClass)
            {
                if (textOpen)
                {
                    yield return SurfaceJson.Event("content_block_stop", index, AnthropicWriter.WriteBlockStop);
                }

                var type = errorClass is ProviderErrorClass.ClusterUnavailable or ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded ? "overloaded_error" : "api_error";
                yield return SurfaceJson.Event("error", (type, item.ErrorMessage ?? "upstream failure"), AnthropicWriter.WriteError);
                yield break;
            }

            usage = item.Usage ?? usage;
            finish = item.FinishReason ?? finish;
            if (item.TextDelta is { Length: > 0 } text)
            {
                if (!textOpen)
                {
                    textOpen = true;
                    yield return SurfaceJson.Event("content_block_start", ++index, AnthropicWriter.WriteTextBlockStart);
                }

                yield return SurfaceJson.Event("content_block_delta", (index, text), AnthropicWriter.WriteTextDelta);
            }

            foreach (var toolCall in item.ToolCalls ?? [])
            {
                if (textOpen)
                {
                    textOpen = false;
                    yield return SurfaceJson.Event("content_block_stop", index, AnthropicWriter.WriteBlockStop);
                }

                yield return SurfaceJson.Event("content_block_start", (++index, toolCall), AnthropicWriter.WriteToolUseStart);
                yield return SurfaceJson.Event("content_block_delta", (index, toolCall.ArgumentsJson), AnthropicWriter.WriteInputJsonDelta);
                yield return SurfaceJson.Event("content_block_stop", index, AnthropicWriter.WriteBlockStop);
            }
        }

        if (textOpen)
        {
            yield return SurfaceJson.Event("content_block_stop", index, AnthropicWriter.WriteBlockStop);
        }

        yield return SurfaceJson.Event("message_delta", (finish, usage), AnthropicWriter.WriteMessageDelta);
        yield return SurfaceJson.Event("message_stop", 0, AnthropicWriter.WriteMessageStop);
    }

    /// <summary>
    /// <c>{"input_tokens": n}</c>: the prompt counted with the tokenizer family of the model named (a catalog model or
    /// alias; Claude's for <c>auto</c> and actions), as the router counts it for budget reservations. No provider call.
    /// </summary>
    private static async Task CountTokensAsync(HttpContext http, ModelCatalog catalog, PromptTokenCounter counter)
    {
        try
        {
            using var doc = await ChatCompletionsEndpoints.ReadJsonAsync(http);
            var parsed = AnthropicRequestParser.Parse(doc.RootElement, countOnly: true);
            TokenizerFamily family;
            if (catalog.TryGetModel(parsed.Model, out var model))
            {
                // The type's own family where the silo's provider registry is at hand, else by the model id.
                var typeFamily = http.RequestServices.GetService<Providers.Abstractions.ProviderRegistry>()?.TokenizerFamilyOf(catalog.ProviderOf(model).Type);
                family = PromptTokenCounter.FamilyOf(typeFamily, model.ProviderModel);
            }
            else if (parsed.Model == "auto" || parsed.Model.StartsWith("action:", StringComparison.Ordinal))
            {
                family = TokenizerFamily.Claude;
            }
            else
            {
                throw new SurfaceNotFoundException("model", $"model: {parsed.Model}");
            }

            var tokens = counter.Count(family, Providers.Common.PromptParts.Of(parsed.Request.Messages), Providers.Common.PromptParts.ToolsText(parsed.Request));
            http.Response.Headers["request-id"] = Hosting.GatewayTelemetry.RequestId(http);
            await SurfaceJson.WriteAsync(http, StatusCodes.Status200OK, tokens, static (w, n) =>
            {
                w.WriteStartObject();
                w.WriteNumber("input_tokens", n);
                w.WriteEndObject();
            });
        }
        catch (Exception ex) when (SurfaceFailure.Maps(ex))
        {
            await AnthropicErrors.WriteExceptionAsync(http, ex);
        }
    }
}
