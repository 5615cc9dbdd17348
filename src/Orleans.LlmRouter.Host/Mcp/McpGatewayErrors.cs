using ModelContextProtocol;

namespace Orleans.LlmRouter.Host.Mcp;

/// <summary>
/// The JSON-RPC error codes <c>/mcp</c> answers with when the gateway itself refuses or cannot complete a call (in the
/// implementation-defined server range, -32000 to -32099). Unknown tools and malformed requests use the standard
/// <see cref="McpErrorCode.InvalidParams"/> and <see cref="McpErrorCode.InvalidRequest"/>; an upstream server's own
/// JSON-RPC error is passed on with its code. A tool that ran and failed is not an error here: its result carries
/// <c>isError: true</c>, as the server returned it.
/// </summary>
internal static class McpGatewayErrors
{
    /// <summary>The call's price does not fit the caller's budget (HTTP 402's equivalent; the message names window, used, limit, requested).</summary>
    public const McpErrorCode BudgetExceeded = (McpErrorCode)(-32001);

    /// <summary>The key may not use this server or tool (HTTP 403's equivalent).</summary>
    public const McpErrorCode Forbidden = (McpErrorCode)(-32003);

    /// <summary>The upstream server did not answer within its <c>timeout_seconds</c>.</summary>
    public const McpErrorCode UpstreamTimeout = (McpErrorCode)(-32004);

    /// <summary>The upstream server could not be reached or answered something that is not MCP.</summary>
    public const McpErrorCode UpstreamFailed = (McpErrorCode)(-32005);

    /// <summary>The server's requests per minute are spent for the whole cluster (HTTP 429's equivalent).</summary>
    public const McpErrorCode RateLimited = (McpErrorCode)(-32029);

    /// <summary>The server is disabled or its circuit breaker is open (HTTP 503's equivalent).</summary>
    public const McpErrorCode Unavailable = (McpErrorCode)(-32030);
}
