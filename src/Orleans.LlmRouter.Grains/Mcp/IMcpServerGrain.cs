namespace Orleans.LlmRouter.Grains.Mcp;

/// <summary>
/// One per MCP server of the catalog (key: the server id): the cluster-wide owner of its circuit breaker, its
/// requests-per-minute window and its run-time enablement, as <c>IProviderGrain</c> is for a model provider.
/// </summary>
[Alias("llmrouter.IMcpServerGrain")]
internal interface IMcpServerGrain : IGrainWithStringKey
{
    /// <summary>Asks to send one tool call: granted (maybe as the half-open probe) or refused with a reason.</summary>
    [Alias("acquire")]
    Task<McpPermit> AcquireAsync();

    /// <summary>Reports how a granted call went; feeds the breaker.</summary>
    [Alias("report")]
    Task ReportAsync(McpCallOutcome outcome);

    /// <summary>State for operators: enablement, breaker, counts, this minute's requests.</summary>
    [Alias("status")]
    Task<McpServerStatus> GetStatusAsync();

    /// <summary>Enables or disables the server for the whole cluster (persisted).</summary>
    [Alias("set-enabled")]
    Task<McpServerStatus> SetEnabledAsync(bool enabled);
}
