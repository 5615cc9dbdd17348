using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Mcp;

/// <summary>
/// An MCP server of the catalog (<c>mcp_servers:</c>): where its Streamable HTTP endpoint is, how the gateway
/// authenticates to it (a key read from <see cref="ApiKeyEnv"/>, never written in YAML), how long a call may take,
/// its cluster-wide limits and breaker, and what a call costs.
/// </summary>
internal sealed record McpServerDefinition(
    string Id,
    Uri Url,
    string? ApiKeyEnv,
    TimeSpan Timeout,
    bool Enabled,
    ProviderLimits Limits,
    BreakerSettings Breaker,
    SourceLocation Location)
{
    /// <summary>The header the key goes in: <c>Authorization</c> (as <c>Bearer &lt;key&gt;</c>, the default) or a named header.</summary>
    public string? ApiKeyHeader { get; init; }

    /// <summary>Extra headers sent on every call (values are not secrets: a secret goes through <see cref="ApiKeyEnv"/>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>USD charged per tool call (when no <see cref="ToolPrices"/> entry names the tool).</summary>
    public decimal PricePerCall { get; init; }

    /// <summary>USD per call of a named tool (the server's own tool name), overriding <see cref="PricePerCall"/>.</summary>
    public IReadOnlyDictionary<string, decimal> ToolPrices { get; init; } = new Dictionary<string, decimal>(StringComparer.Ordinal);

    /// <summary>A human description, shown by the admin API.</summary>
    public string? Description { get; init; }

    /// <summary>Why the server is disabled at load (its key's variable is not set, or <c>enabled: false</c>); null when enabled.</summary>
    public string? DisabledReason { get; init; }

    /// <summary>The price of one call of <paramref name="tool"/>.</summary>
    public decimal PriceOf(string tool) => ToolPrices.TryGetValue(tool, out var price) ? price : PricePerCall;
}
