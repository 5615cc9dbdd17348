namespace Orleans.LlmRouter.Grains.Mcp;

/// <summary>Why an MCP server refused to take a call.</summary>
internal enum McpRefusal
{
    /// <summary>Granted.</summary>
    None,

    /// <summary>Disabled in configuration, for a missing key, or at run time through the admin API.</summary>
    Disabled,

    /// <summary>The breaker is open (or its half-open probe is out).</summary>
    CircuitOpen,

    /// <summary>The server's requests per minute are spent.</summary>
    RateLimited,
}

/// <summary>The answer to <see cref="IMcpServerGrain.AcquireAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.McpPermit")]
internal sealed record McpPermit(
    [property: Id(0)] McpRefusal Refusal,
    [property: Id(1)] bool IsProbe,
    [property: Id(2)] TimeSpan? RetryAfter)
{
    public bool Granted => Refusal == McpRefusal.None;
}

/// <summary>How a granted tool call went.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.McpCallOutcome")]
internal sealed record McpCallOutcome(
    [property: Id(0)] bool Success,
    [property: Id(1)] bool CountsAsFailure,
    [property: Id(2)] bool WasProbe,
    [property: Id(3)] string? ErrorClass,
    [property: Id(4)] double LatencyMs);

/// <summary>An MCP server's cluster-wide state, for the admin API.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.McpServerStatus")]
internal sealed record McpServerStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] bool Enabled,
    [property: Id(2)] string? DisabledReason,
    [property: Id(3)] string CircuitState,
    [property: Id(4)] DateTimeOffset? OpenUntil,
    [property: Id(5)] long Successes,
    [property: Id(6)] long Failures,
    [property: Id(7)] DateTimeOffset? LastFailureAt,
    [property: Id(8)] string? LastFailureClass,
    [property: Id(9)] long RequestsThisMinute);

/// <summary>Persisted control state of an MCP server: what survives deactivation.</summary>
[GenerateSerializer, Alias("llmrouter.McpServerControlState")]
internal sealed class McpServerControlState
{
    [Id(0)] public bool Disabled { get; set; }

    [Id(1)] public Contracts.ProviderCircuitState State { get; set; }

    [Id(2)] public DateTimeOffset? OpenUntil { get; set; }
}
