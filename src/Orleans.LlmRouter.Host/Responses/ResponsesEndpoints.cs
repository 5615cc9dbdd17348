using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Mcp;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// The OpenAI Responses API: <c>POST /v1/responses</c> (JSON and typed SSE events with <c>sequence_number</c>),
/// <c>GET /v1/responses/{id}</c> and <c>DELETE /v1/responses/{id}</c>, for current OpenAI SDKs, the Agents SDK and
/// Codex. The body becomes the one request model and goes through the same router call as chat completions (so
/// routing, fallback, budgets, limits and the ledger are the same, and any catalog model can serve it). Responses
/// are stored unless <c>store: false</c>, per tenant in grain storage (<see cref="IResponseStoreGrain"/>) for
/// <see cref="ResponseStoreOptions.Retention"/>, so <c>previous_response_id</c> continues a conversation.
/// Tools of type <c>mcp</c> naming the gateway's MCP servers are run by the gateway in the loop (<see cref="ResponsesMcpLoop"/>).
/// Errors are in the OpenAI shape (<see cref="OpenAiErrors"/>).
/// </summary>
internal static class ResponsesEndpoints
{
    public static IEndpointRouteBuilder MapResponsesEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapOpenAiGroup();
        group.MapPost("/responses", CreateAsync);
        group.MapGet("/responses/{id}", GetAsync);
        group.MapDelete("/responses/{id}", DeleteAsync);
        return routes;
    }

    private static async Task CreateAsync(HttpContext http, RouterCalls calls, IGrainFactory grains, RouterClock clock, IOptions<RequestLimitsOptions> limits, IOptions<ResponseStoreOptions> store)
    {
        var started = Stopwatch.GetTimestamp();
        var tenant = http.Tenant();
        ParsedResponsesRequest parsed;
        RouterContext context;
        List<RouterMessage> conversation;
        ChatRequest request;
        bool mcp;
        try
        {
            using var doc = await ChatCompletionsEndpoints.ReadJsonAsync(http);
            parsed = ResponsesRequestParser.Parse(doc.RootElement);
            conversation = [];
            if (parsed.PreviousResponseId is { } previousId)
            {
                var previous = await grains.GetStoredResponse(tenant.Id, previousId).GetAsync()
                    ?? throw new SurfaceNotFoundException("previous_response_id", $"Previous response with id '{previousId}' not found.");
                conversation.AddRange(ResponseConversation.Read(previous.ConversationJson));
            }

            conversation.AddRange(parsed.Template.Messages);
            mcp = parsed.McpTools.Count > 0 || parsed.McpApprovals.Count > 0;
            if (mcp && parsed.Stream)
            {
                throw new InvalidRequestException("stream", "stream: true is not supported with tools of type 'mcp' (or mcp_approval_response items) by this gateway yet; send the request without stream.");
            }

            if (!mcp)
            {
                ResponsesMcpLoop.CloseUnanswered(conversation); // approval requests of a previous response the client did not answer
            }

            var messages = new List<RouterMessage>(conversation.Count + 1);
            if (parsed.Instructions is { Length: > 0 } instructions)
            {
                messages.Add(RouterMessage.FromText("system", instructions));
            }

            messages.AddRange(conversation);
            request = parsed.Template with { Messages = messages };
            RequestLimits.Validate(request, limits.Value);
            context = RoutingHeaders.From(http, tenant, parsed.Model, parsed.Template.User);
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex))
        {
            await OpenAiErrors.WriteExceptionAsync(http, ex);
            return;
        }

        var id = "resp_" + context.RequestId;
        var createdAt = clock.UtcNow;
        Func<string, IReadOnlyList<RouterMessage>, Task> keep = (json, stored) => parsed.Store
            ? grains.GetStoredResponse(tenant.Id, id).PutAsync(new StoredResponse(json, ResponseConversation.Write(stored), createdAt, createdAt + store.Value.Retention))
            : Task.CompletedTask;
        if (mcp)
        {
            await CreateWithMcpAsync(http, calls, parsed, request, conversation, context, id, createdAt, keep, started);
            return;
        }

        using var call = calls.Begin(context, http.RequestAborted);
        try
        {
            if (parsed.Stream)
            {
                await using var stream = await RoutedStream.OpenAsync(call, request, context);
                var model = stream.First?.Model ?? parsed.Model;
                RouteResponseHeaders.Set(http, OpenAi.ProviderHeader.Value(stream.First?.Provider ?? string.Empty, stream.First?.Deployment), model, null, 1, started, 0, stream.First?.Cache);
                RouteResponseHeaders.SetWarnings(http, parsed.Warnings, request, model);
                var snapshot = new ResponseSnapshot(id, createdAt.ToUnixTimeSeconds(), "in_progress", model, parsed);
                await TypedResults.ServerSentEvents(Events(stream, snapshot, context.RequestId, conversation, keep, http.RequestAborted)).ExecuteAsync(http);
                return;
            }

            var completion = await call.InvokeAsync((router, ctx, ct) => router.CompleteAsync(request, ctx, ct));
            var (status, reason) = ResponseSnapshot.StatusOf(completion.FinishReason);
            var done = new ResponseSnapshot(id, createdAt.ToUnixTimeSeconds(), status, completion.Model, parsed)
            {
                Output = ResponseOutputItem.From(context.RequestId, completion.Message),
                Usage = completion.Usage,
                IncompleteReason = reason,
            };
            var json = SurfaceJson.Text(done, ResponsesWriter.WriteResponse);
            await keep(json, [.. conversation, completion.Message]);
            RouteResponseHeaders.Set(http, OpenAi.ProviderHeader.Value(completion.Provider, completion.Deployment), completion.Model, completion.CostUsd, completion.Attempts.Count, started, completion.Attempts.Sum(a => a.LatencyMs), completion.Cache);
            RouteResponseHeaders.SetWarnings(http, parsed.Warnings, request, completion.Model);
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(json, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the upstream call was cancelled with it.
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex, call.Lost))
        {
            await OpenAiErrors.WriteExceptionAsync(http, ex, call.Lost);
        }
    }

    /// <summary>
    /// A request with tools of type <c>mcp</c> (or answers to approval requests): <see cref="ResponsesMcpLoop"/> runs the
    /// gateway's MCP tools in the loop, each model turn one router call (its own request id, so its own ledger row:
    /// <c>{id}</c>, then <c>{id}-1</c>, <c>{id}-2</c>…), each tool call a ledger row <c>kind = tool_call</c> through
    /// <see cref="McpGateway"/>. The routing headers name the last turn's model; cost and attempts are the turns' sums.
    /// </summary>
    private static async Task CreateWithMcpAsync(
        HttpContext http, RouterCalls calls, ParsedResponsesRequest parsed, ChatRequest request, List<RouterMessage> conversation, RouterContext context,
        string id, DateTimeOffset createdAt, Func<string, IReadOnlyList<RouterMessage>, Task> keep, long started)
    {
        var lost = false;
        try
        {
            var gateway = http.RequestServices.GetRequiredService<McpGateway>();
            var outcome = await ResponsesMcpLoop.RunAsync(parsed, request, http.Tenant(), conversation, context.RequestId, gateway, async (turn, round) =>
            {
                using var call = calls.Begin(round == 0 ? context : context with { RequestId = $"{context.RequestId}-{round}" }, http.RequestAborted);
                try
                {
                    return await call.InvokeAsync((router, ctx, ct) => router.CompleteAsync(turn, ctx, ct));
                }
                catch (Exception)
                {
                    lost = call.Lost;
                    throw;
                }
            }, http.RequestAborted);
            var last = outcome.Last;
            var done = new ResponseSnapshot(id, createdAt.ToUnixTimeSeconds(), outcome.Status, last.Model, parsed)
            {
                Output = outcome.Output,
                Usage = outcome.Usage,
                IncompleteReason = outcome.IncompleteReason,
            };
            var json = SurfaceJson.Text(done, ResponsesWriter.WriteResponse);
            await keep(json, outcome.Conversation);
            RouteResponseHeaders.Set(http, OpenAi.ProviderHeader.Value(last.Provider, last.Deployment), last.Model, outcome.CostUsd, outcome.Attempts, started, outcome.UpstreamMs, null);
            RouteResponseHeaders.SetWarnings(http, parsed.Warnings, request, last.Model);
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(json, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the upstream call (model or tool) was cancelled with it.
        }
        catch (McpToolsRefusedException refused)
        {
            await OpenAiErrors.WriteAsync(http, refused.Status, refused.Message, refused.Type, refused.Param, refused.Code);
        }
        catch (Exception ex) when (OpenAiErrors.Maps(ex, lost))
        {
            await OpenAiErrors.WriteExceptionAsync(http, ex, lost);
        }
    }

    /// <summary>
    /// The typed events of a Responses stream: <c>response.created</c>, <c>response.in_progress</c>; per output item
    /// <c>response.output_item.added</c>, then for a message <c>response.content_part.added</c>,
    /// <c>response.output_text.delta</c>…, <c>response.output_text.done</c>, <c>response.content_part.done</c>, and for a
    /// function call <c>response.function_call_arguments.delta</c>/<c>.done</c>; <c>response.output_item.done</c>; then
    /// <c>response.completed</c> (or <c>response.incomplete</c>) with usage. An upstream failure after the first event is
    /// <c>response.failed</c>; a node lost mid-stream an <c>error</c> event.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Events(RoutedStream stream, ResponseSnapshot snapshot, string requestId, IReadOnlyList<RouterMessage> conversation, Func<string, IReadOnlyList<RouterMessage>, Task> keep, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = new ResponseStreamEvents();
        yield return events.Response("response.created", snapshot);
        yield return events.Response("response.in_progress", snapshot);
        var output = new List<ResponseOutputItem>();
        var calls = new List<ToolCall>();
        var allText = new StringBuilder();
        StringBuilder? text = null;
        var textIndex = -1;
        string? finish = null;
        TokenUsage? usage = null;
        await foreach (var item in stream.ReadAllAsync(cancellationToken))
        {
            if (item.ErrorClass is { } errorClass)
            {
                if (errorClass == ProviderErrorClass.ClusterUnavailable)
                {
                    yield return events.Error("cluster_unavailable", item.ErrorMessage ?? "A node of the cluster became unavailable during the stream.");
                }
                else
                {
                    yield return events.Response("response.failed", snapshot with { Status = "failed", Output = output, Usage = item.Usage ?? usage, Error = ("server_error", item.ErrorMessage ?? "upstream failure") });
                }

                yield break;
            }

            usage = item.Usage ?? usage;
            finish = item.FinishReason ?? finish;
            if (item.TextDelta is { Length: > 0 } delta)
            {
                if (text is null)
                {
                    text = new StringBuilder();
                    textIndex = output.Count;
                    var added = new ResponseOutputItem(output.Count == 0 ? "msg_" + requestId : $"msg_{requestId}_{output.Count}", string.Empty, null);
                    output.Add(added);
                    yield return events.ItemAdded(textIndex, added);
                    yield return events.ContentPart("response.content_part.added", textIndex, added.Id, string.Empty);
                }

                text.Append(delta);
                allText.Append(delta);
                yield return events.Text("response.output_text.delta", textIndex, output[textIndex].Id, "delta", delta);
            }

            foreach (var toolCall in item.ToolCalls ?? [])
            {
                if (text is not null)
                {
                    foreach (var e in CloseText(events, output, textIndex, text.ToString()))
                    {
                        yield return e;
                    }

                    text = null;
                }

                var index = output.Count;
                var fc = new ResponseOutputItem($"fc_{requestId}_{calls.Count}", null, toolCall);
                calls.Add(toolCall);
                output.Add(fc);
                yield return events.ItemAdded(index, fc);
                yield return events.Arguments("response.function_call_arguments.delta", index, fc.Id, "delta", toolCall.ArgumentsJson);
                yield return events.Arguments("response.function_call_arguments.done", index, fc.Id, "arguments", toolCall.ArgumentsJson, toolCall.Name);
                yield return events.ItemDone(index, fc);
            }
        }

        if (text is not null)
        {
            foreach (var e in CloseText(events, output, textIndex, text.ToString()))
            {
                yield return e;
            }
        }

        var (status, reason) = ResponseSnapshot.StatusOf(finish);
        var done = snapshot with { Status = status, Output = output, Usage = usage, IncompleteReason = reason };
        var message = new RouterMessage("assistant", allText.Length > 0 ? [ContentPart.FromText(allText.ToString())] : [], ToolCalls: calls.Count > 0 ? calls : null);
        await keep(SurfaceJson.Text(done, ResponsesWriter.WriteResponse), [.. conversation, message]);
        yield return events.Response(status == "incomplete" ? "response.incomplete" : "response.completed", done);
    }

    private static IEnumerable<SseItem<string>> CloseText(ResponseStreamEvents events, List<ResponseOutputItem> output, int index, string text)
    {
        var item = output[index] with { Text = text };
        output[index] = item;
        yield return events.Text("response.output_text.done", index, item.Id, "text", text);
        yield return events.ContentPart("response.content_part.done", index, item.Id, text);
        yield return events.ItemDone(index, item);
    }

    private static async Task GetAsync(HttpContext http, string id, IGrainFactory grains)
    {
        var stored = await grains.GetStoredResponse(http.Tenant().Id, id).GetAsync();
        if (stored is null)
        {
            await OpenAiErrors.WriteExceptionAsync(http, NotFound(id));
            return;
        }

        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(stored.ResponseJson, http.RequestAborted);
    }

    private static async Task DeleteAsync(HttpContext http, string id, IGrainFactory grains)
    {
        if (!await grains.GetStoredResponse(http.Tenant().Id, id).DeleteAsync())
        {
            await OpenAiErrors.WriteExceptionAsync(http, NotFound(id));
            return;
        }

        await SurfaceJson.WriteAsync(http, StatusCodes.Status200OK, id, static (w, id) =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "response");
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        });
    }

    private static SurfaceNotFoundException NotFound(string id) => new(null, $"No response found with id '{id}'.");
}
