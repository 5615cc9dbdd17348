using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Mcp;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Mcp;

namespace Orleans.LlmRouter.Host.Mcp;

/// <summary>
/// What <c>/mcp</c> does for a tenant: lists the union of the tools it may use, namespaced <c>server__tool</c>, and
/// forwards a tool call to its server under the same governance as a model call — the tenant's allow-list, the
/// server's cluster-wide breaker and rpm (<see cref="IMcpServerGrain"/>), the per-call price reserved and settled on
/// the tenant's budget grain, one ledger row (<c>kind = tool_call</c>) per call that reached the server. Every failure
/// is an MCP error (<see cref="McpGatewayErrors"/>), never an HTTP 500 or a hang (each upstream call has its server's timeout).
/// </summary>
internal sealed partial class McpGateway(
    ModelCatalog catalog,
    McpUpstreams upstreams,
    IGrainFactory grains,
    RouterClock clock,
    Grains.Routing.GrainCalls calls,
    ILogger<McpGateway> logger,
    Grains.Routing.ReservationKeeper? keeper = null)
{
    /// <summary>How long a server's tool list is reused before it is asked again.</summary>
    public static readonly TimeSpan ToolListTtl = TimeSpan.FromSeconds(60);

    /// <summary>How long a call skips asking a server for its tools after a listing failed.</summary>
    public static readonly TimeSpan ListRetryAfter = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyList<Tool> Tools)> _tools = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _listFailedAt = new(StringComparer.Ordinal);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<McpClient, IReadOnlyList<Tool>> _taught = [];

    /// <summary>The access path of <paramref name="tenant"/>: today its own allow-list (projects and keys will add levels).</summary>
    public static McpAccess AccessOf(TenantDefinition tenant) => new([tenant.Mcp]);

    /// <summary>The union of the tools <paramref name="access"/> allows on the enabled servers, namespaced; a server that cannot list is left out (logged).</summary>
    public async Task<ListToolsResult> ListToolsAsync(McpAccess access, CancellationToken cancellationToken)
    {
        var servers = catalog.McpServers.Values.Where(s => s.Enabled && access.AllowsServer(s.Id)).OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        var lists = await Task.WhenAll(servers.Select(async s =>
        {
            try
            {
                if (!(await grains.GetGrain<IMcpServerGrain>(s.Id).GetStatusAsync()).Enabled)
                {
                    return (Server: s, Tools: (IReadOnlyList<Tool>)[]); // disabled at run time (admin API)
                }

                return (Server: s, Tools: await ServerToolsAsync(s, cancellationToken));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogListFailed(logger, s.Id, ex.GetType().Name);
                return (Server: s, Tools: (IReadOnlyList<Tool>)[]);
            }
        }));

        var result = new List<Tool>();
        foreach (var (server, tools) in lists)
        {
            foreach (var tool in tools.Where(t => McpToolNames.IsValidToolName(t.Name) && access.Allows(server.Id, t.Name)))
            {
                result.Add(new Tool
                {
                    Name = McpToolNames.Namespaced(server.Id, tool.Name),
                    Title = tool.Title,
                    Description = tool.Description,
                    InputSchema = tool.InputSchema,
                    OutputSchema = tool.OutputSchema,
                    Annotations = tool.Annotations,
                    Icons = tool.Icons,
                    Meta = tool.Meta,
                });
            }
        }

        return new ListToolsResult { Tools = result };
    }

    /// <summary>
    /// The tools of one server that <paramref name="access"/> allows (its own names, not namespaced), for a model call
    /// that uses the server on <c>/v1/responses</c>. Unlike <see cref="ListToolsAsync"/>, a server that cannot be used is
    /// an error: <see cref="McpErrorCode.InvalidParams"/> not in the catalog, <see cref="McpGatewayErrors.Forbidden"/>
    /// outside the key's allow-list, <see cref="McpGatewayErrors.Unavailable"/> disabled, and
    /// <see cref="McpGatewayErrors.UpstreamTimeout"/> or <see cref="McpGatewayErrors.UpstreamFailed"/> when it cannot list.
    /// </summary>
    public async Task<IReadOnlyList<Tool>> ServerToolsAsync(McpAccess access, string serverId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(access);
        if (!catalog.McpServers.TryGetValue(serverId, out var server))
        {
            throw new McpProtocolException($"Unknown MCP server '{serverId}': server_label must name an MCP server of the gateway's catalog.", McpErrorCode.InvalidParams);
        }

        if (!access.AllowsServer(serverId))
        {
            throw new McpProtocolException($"This key may not use MCP server '{serverId}' (it is not in its allow-list).", McpGatewayErrors.Forbidden);
        }

        if (!server.Enabled || !(await grains.GetGrain<IMcpServerGrain>(serverId).GetStatusAsync()).Enabled)
        {
            throw new McpProtocolException($"MCP server '{serverId}' is disabled{(server.Enabled ? string.Empty : $" ({server.DisabledReason})")}.", McpGatewayErrors.Unavailable);
        }

        IReadOnlyList<Tool> tools;
        try
        {
            tools = await ServerToolsAsync(server, cancellationToken);
        }
        catch (McpProtocolException ex)
        {
            throw new McpProtocolException($"MCP server '{serverId}' could not list its tools: {ex.Message}", McpGatewayErrors.UpstreamFailed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new McpProtocolException($"MCP server '{serverId}' did not list its tools within {server.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", McpGatewayErrors.UpstreamTimeout);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogListFailed(logger, serverId, ex.GetType().Name);
            throw new McpProtocolException($"MCP server '{serverId}' could not list its tools ({(ex is HttpRequestException ? "it could not be reached" : "its answer was not valid MCP")}).", McpGatewayErrors.UpstreamFailed);
        }

        return tools.Where(t => McpToolNames.IsValidToolName(t.Name) && access.Allows(serverId, t.Name)).ToList();
    }

    /// <summary>Forwards one tool call; see the class remarks for the governance applied.</summary>
    public async Task<CallToolResult> CallToolAsync(string tenantId, McpAccess access, CallToolRequestParams call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (string.IsNullOrEmpty(call.Name) || !McpToolNames.TrySplit(call.Name, out var serverId, out var tool) || !catalog.McpServers.TryGetValue(serverId, out var server))
        {
            throw new McpProtocolException($"Unknown tool '{call.Name}': gateway tools are named server__tool after a server of the catalog (see tools/list).", McpErrorCode.InvalidParams);
        }

        if (!access.Allows(serverId, tool))
        {
            throw new McpProtocolException($"This key may not call tool '{call.Name}' (MCP server '{serverId}' or the tool is not in its allow-list).", McpGatewayErrors.Forbidden);
        }

        if (!server.Enabled)
        {
            throw new McpProtocolException($"MCP server '{serverId}' is disabled ({server.DisabledReason}).", McpGatewayErrors.Unavailable);
        }

        var known = await KnownToolsAsync(server, cancellationToken);
        if (known is not null && !known.Any(t => t.Name == tool))
        {
            throw new McpProtocolException($"Unknown tool '{call.Name}': MCP server '{serverId}' has no tool '{tool}'.", McpErrorCode.InvalidParams);
        }

        var grain = grains.GetGrain<IMcpServerGrain>(serverId);
        var permit = await grain.AcquireAsync();
        switch (permit.Refusal)
        {
            case McpRefusal.Disabled:
                throw new McpProtocolException($"MCP server '{serverId}' is disabled.", McpGatewayErrors.Unavailable);
            case McpRefusal.CircuitOpen:
                throw new McpProtocolException($"MCP server '{serverId}' is unavailable: its circuit breaker is open{RetryText(permit.RetryAfter)}.", McpGatewayErrors.Unavailable);
            case McpRefusal.RateLimited:
                throw new McpProtocolException($"MCP server '{serverId}' is rate-limited: its requests per minute are spent{RetryText(permit.RetryAfter)}.", McpGatewayErrors.RateLimited);
        }

        var requestId = "mcp-" + Guid.NewGuid().ToString("N");
        var price = server.PriceOf(tool);
        var budget = grains.GetTenantBudget(tenantId);
        string? reservation = null;
        if (price > 0)
        {
            try
            {
                await calls.RetryAsync(() => budget.ReserveAsync(requestId, 0, price, null), "reserve the tool call's price");
                reservation = requestId;
                keeper?.Hold(budget, tenantId, requestId); // renewed like a model call's while the tool runs (a silo; a separate front end does not renew)
            }
            catch (Exception ex)
            {
                try
                {
                    await grain.ReportAsync(new McpCallOutcome(false, false, permit.IsProbe, McpServerGrain.CancelledClass, 0)); // not sent: gives a probe back
                }
                catch (Exception reportEx) when (reportEx is not OperationCanceledException)
                {
                    LogReportFailed(logger, serverId, reportEx.GetType().Name);
                }

                if (ex is BudgetExceededException budgetEx)
                {
                    throw new McpProtocolException(BudgetText(budgetEx, call.Name), McpGatewayErrors.BudgetExceeded);
                }

                throw;
            }
        }

        using var activity = McpTelemetry.Source.StartActivity("execute_tool " + call.Name, ActivityKind.Client);
        activity?.SetTag("gen_ai.operation.name", "execute_tool");
        activity?.SetTag("gen_ai.tool.name", call.Name);
        activity?.SetTag("llmrouter.tenant", tenantId);
        activity?.SetTag("llmrouter.mcp.server", serverId);
        var startedAt = clock.UtcNow;
        var watch = Stopwatch.StartNew();
        CallToolResult? result = null;
        McpProtocolException? failure = null;
        ProviderErrorClass? errorClass = null;
        var countsAsFailure = false;
        McpClient? client = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(server.Timeout);
        try
        {
            client = await upstreams.GetAsync(server, timeout.Token);
            if (known is not null && (!_taught.TryGetValue(client, out var taught) || !ReferenceEquals(taught, known)))
            {
                // The SDK's client sends a tool's Mcp-Param-* headers only for tools it knows (and warns on every call otherwise).
                client.AddKnownTools(known);
                _taught.AddOrUpdate(client, known);
            }

            result = await client.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = call.Arguments, Meta = call.Meta }, timeout.Token);
        }
        catch (McpProtocolException ex)
        {
            // The server answered with a JSON-RPC error: passed on with its code. Only its internal errors say
            // something about its health.
            errorClass = ex.ErrorCode == McpErrorCode.InternalError ? ProviderErrorClass.Server : ProviderErrorClass.BadRequest;
            countsAsFailure = ex.ErrorCode == McpErrorCode.InternalError;
            failure = new McpProtocolException($"MCP server '{serverId}': {ex.Message}", ex.ErrorCode);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            errorClass = ProviderErrorClass.Cancelled;
            throw;
        }
        catch (OperationCanceledException)
        {
            errorClass = ProviderErrorClass.Timeout;
            countsAsFailure = true;
            failure = new McpProtocolException($"MCP server '{serverId}' did not answer tool '{tool}' within {server.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", McpGatewayErrors.UpstreamTimeout);
        }
        catch (Exception ex)
        {
            // Unreachable, a broken session, or an answer that is not MCP: the connection is dropped and made again.
            errorClass = ex is HttpRequestException ? ProviderErrorClass.Connection : ProviderErrorClass.UpstreamInvalidResponse;
            countsAsFailure = true;
            if (client is not null)
            {
                upstreams.Invalidate(serverId, client);
            }

            LogUpstreamFailed(logger, serverId, tool, ex.GetType().Name);
            failure = new McpProtocolException($"MCP server '{serverId}' failed on tool '{tool}': {(errorClass == ProviderErrorClass.Connection ? "it could not be reached" : "its answer was not valid MCP")}.", McpGatewayErrors.UpstreamFailed);
        }
        finally
        {
            watch.Stop();
            var latency = watch.Elapsed.TotalMilliseconds;
            var success = result is not null;
            var className = success ? null : errorClass is { } c ? c.Name() : "unknown";
            await FinishAsync(grain, budget, new Finish(tenantId, serverId, tool, requestId, reservation, permit.IsProbe, success, countsAsFailure, errorClass, className, success ? price : 0m, latency, startedAt), result);
            activity?.SetTag("error.type", className);
            if (!success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, className);
            }

            McpTelemetry.Record(serverId, tool, className ?? (result?.IsError == true ? "tool_error" : "ok"), latency);
        }

        return result ?? throw failure!;
    }

    /// <summary>
    /// The union of the prompts of the enabled servers <paramref name="access"/> reaches, namespaced <c>server__prompt</c>
    /// (prompts are not priced or ledgered: they are text the client reads, not work a server does).
    /// </summary>
    public async Task<ListPromptsResult> ListPromptsAsync(McpAccess access, CancellationToken cancellationToken)
    {
        var servers = catalog.McpServers.Values.Where(s => s.Enabled && access.AllowsServer(s.Id)).OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        var lists = await Task.WhenAll(servers.Select(async s =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(s.Timeout);
            try
            {
                if (!(await grains.GetGrain<IMcpServerGrain>(s.Id).GetStatusAsync()).Enabled)
                {
                    return [];
                }

                var client = await upstreams.GetAsync(s, timeout.Token);
                if (client.ServerCapabilities.Prompts is null)
                {
                    return [];
                }

                var page = await client.ListPromptsAsync(new ListPromptsRequestParams(), timeout.Token);
                return page.Prompts.Where(p => McpToolNames.IsValidToolName(p.Name)).Select(p => new Prompt
                {
                    Name = McpToolNames.Namespaced(s.Id, p.Name),
                    Title = p.Title,
                    Description = p.Description,
                    Arguments = p.Arguments,
                    Icons = p.Icons,
                    Meta = p.Meta,
                }).ToList();
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogListFailed(logger, s.Id, ex.GetType().Name);
                return new List<Prompt>();
            }
        }));

        return new ListPromptsResult { Prompts = lists.SelectMany(l => l).ToList() };
    }

    /// <summary>Gets a prompt from its server (<c>server__prompt</c>), within the server's timeout.</summary>
    public async Task<GetPromptResult> GetPromptAsync(McpAccess access, GetPromptRequestParams request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Name) || !McpToolNames.TrySplit(request.Name, out var serverId, out var prompt) || !catalog.McpServers.TryGetValue(serverId, out var server) || !server.Enabled)
        {
            throw new McpProtocolException($"Unknown prompt '{request.Name}': gateway prompts are named server__prompt (see prompts/list).", McpErrorCode.InvalidParams);
        }

        if (!access.AllowsServer(serverId))
        {
            throw new McpProtocolException($"This key may not use MCP server '{serverId}'.", McpGatewayErrors.Forbidden);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(server.Timeout);
        McpClient? client = null;
        try
        {
            client = await upstreams.GetAsync(server, timeout.Token);
            return await client.GetPromptAsync(new GetPromptRequestParams { Name = prompt, Arguments = request.Arguments, Meta = request.Meta }, timeout.Token);
        }
        catch (McpProtocolException ex)
        {
            throw new McpProtocolException($"MCP server '{serverId}': {ex.Message}", ex.ErrorCode);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new McpProtocolException($"MCP server '{serverId}' did not answer within {server.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", McpGatewayErrors.UpstreamTimeout);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (client is not null)
            {
                upstreams.Invalidate(serverId, client);
            }

            throw new McpProtocolException($"MCP server '{serverId}' failed on prompt '{prompt}'.", McpGatewayErrors.UpstreamFailed);
        }
    }

    private async Task FinishAsync(IMcpServerGrain grain, ITenantBudgetGrain budget, Finish f, CallToolResult? result)
    {
        // The server's health first (a lost report costs nothing billed), then the ledger row: a call that reached the
        // server is billed at its price when it returned a result (a tool's own error included: it ran), free otherwise.
        try
        {
            await grain.ReportAsync(new McpCallOutcome(f.Success, f.CountsAsFailure, f.WasProbe, f.ErrorClass == ProviderErrorClass.Cancelled ? McpServerGrain.CancelledClass : f.ClassName, f.LatencyMs));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReportFailed(logger, f.Server, ex.GetType().Name);
        }

        var record = new UsageRecord(f.RequestId, f.Server, f.Tool, TokenUsage.Zero, f.Cost, f.Success)
        {
            Kind = "tool_call",
            LatencyMs = f.LatencyMs,
            ErrorClass = f.ErrorClass,
            Attempts = 1,
            StartedAt = f.StartedAt,
            CompletedAt = clock.UtcNow,
            TraceId = Activity.Current?.TraceId.ToHexString(),
            Tags = result?.IsError == true ? ["mcp:tool_error"] : [],
        };
        try
        {
            await calls.RetryAsync(() => budget.SettleAsync(f.Reservation, record), "record the tool call in the ledger");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSettleFailed(logger, f.Server, f.Tool, ex.GetType().Name);
            throw new McpProtocolException("The tool call could not be recorded in the ledger; it is not answered.", McpErrorCode.InternalError);
        }
        finally
        {
            if (f.Reservation is { } held)
            {
                keeper?.Drop(held); // settled, or left to expire with its lease
            }
        }
    }

    /// <summary>
    /// The server's tools for the unknown-tool check, or null when they cannot be listed now (the call then goes to the
    /// server, which answers for itself). A failed listing is not retried on the call path for <see cref="ListRetryAfter"/>,
    /// so a stalled server costs each call its breaker check, not another listing timeout.
    /// </summary>
    private async Task<IReadOnlyList<Tool>?> KnownToolsAsync(McpServerDefinition server, CancellationToken cancellationToken)
    {
        if (_listFailedAt.TryGetValue(server.Id, out var failedAt) && clock.UtcNow - failedAt < ListRetryAfter
            && !(_tools.TryGetValue(server.Id, out var cached) && cached.At > failedAt))
        {
            return null;
        }

        try
        {
            return await ServerToolsAsync(server, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _listFailedAt[server.Id] = clock.UtcNow;
            LogListFailed(logger, server.Id, ex.GetType().Name);
            return null;
        }
    }

    private async Task<IReadOnlyList<Tool>> ServerToolsAsync(McpServerDefinition server, CancellationToken cancellationToken)
    {
        var now = clock.UtcNow;
        if (_tools.TryGetValue(server.Id, out var cached) && now - cached.At < ToolListTtl)
        {
            return cached.Tools;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(server.Timeout);
        var client = await upstreams.GetAsync(server, timeout.Token);
        try
        {
            var tools = new List<Tool>();
            string? cursor = null;
            do
            {
                var page = await client.ListToolsAsync(new ListToolsRequestParams { Cursor = cursor }, timeout.Token);
                tools.AddRange(page.Tools);
                cursor = page.NextCursor;
            }
            while (cursor is not null && tools.Count < 10_000);

            _tools[server.Id] = (now, tools);
            return tools;
        }
        catch (Exception ex) when (ex is not McpProtocolException && ex is not OperationCanceledException)
        {
            upstreams.Invalidate(server.Id, client);
            throw;
        }
    }

    private static string RetryText(TimeSpan? retryAfter) =>
        retryAfter is { } r ? $"; retry in {Math.Max(1, (int)Math.Ceiling(r.TotalSeconds)).ToString(CultureInfo.InvariantCulture)} s" : string.Empty;

    private static string BudgetText(BudgetExceededException ex, string tool) => ex switch
    {
        CostBudgetExceededException c => string.Create(CultureInfo.InvariantCulture, $"budget_exceeded: tool '{tool}' costs {c.RequestedUsd} USD, which does not fit the {c.Window} USD budget (used {c.UsedUsd}, in flight {c.InFlightUsd}, limit {c.LimitUsd})."),
        TokenBudgetExceededException t => string.Create(CultureInfo.InvariantCulture, $"budget_exceeded: the {t.Window} token budget is spent (used {t.Used}, in flight {t.InFlight}, limit {t.Limit})."),
        _ => $"budget_exceeded: the {ex.Window} budget does not allow tool '{tool}'.",
    };

    private sealed record Finish(
        string Tenant, string Server, string Tool, string RequestId, string? Reservation, bool WasProbe, bool Success, bool CountsAsFailure,
        ProviderErrorClass? ErrorClass, string? ClassName, decimal Cost, double LatencyMs, DateTimeOffset StartedAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} could not list its tools ({Error}); left out of tools/list.")]
    private static partial void LogListFailed(ILogger logger, string server, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} failed on tool {Tool} ({Error}); its connection is made again.")]
    private static partial void LogUpstreamFailed(ILogger logger, string server, string tool, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server}: the outcome of a call could not be reported to its grain ({Error}).")]
    private static partial void LogReportFailed(ILogger logger, string server, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "MCP tool call {Server}/{Tool} could not be settled ({Error}).")]
    private static partial void LogSettleFailed(ILogger logger, string server, string tool, string error);
}
