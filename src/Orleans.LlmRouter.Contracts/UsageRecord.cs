namespace Orleans.LlmRouter.Contracts;

/// <summary>What a call used and how it went; becomes one ledger row (request id unique).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.UsageRecord")]
public sealed record UsageRecord(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Provider,
    [property: Id(2)] string Model,
    [property: Id(3)] TokenUsage Usage,
    [property: Id(4)] decimal CostUsd,
    [property: Id(5)] bool Success)
{
    /// <summary>The caller's run (<see cref="RouterContext.RunId"/>), counted against per-run budgets; null for none.</summary>
    [Id(6)] public string? RunId { get; init; }

    /// <summary>The caller's tags (<see cref="RouterContext.Tags"/>), stored with the row.</summary>
    [Id(7)] public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The catalog action the request was routed through; null when it named a model.</summary>
    [Id(8)] public string? Action { get; init; }

    /// <summary>The action's strategy as the caller gave it; null means <c>default</c>.</summary>
    [Id(9)] public string? Strategy { get; init; }

    /// <summary>Milliseconds from the start of routing to the end of the request, every attempt included.</summary>
    [Id(10)] public double LatencyMs { get; init; }

    /// <summary>Milliseconds until the first streamed chunk; null for a call that did not stream one.</summary>
    [Id(11)] public double? TimeToFirstTokenMs { get; init; }

    /// <summary>Error class of a failed call; null on success.</summary>
    [Id(12)] public ProviderErrorClass? ErrorClass { get; init; }

    /// <summary>How many tries the request made, across models.</summary>
    [Id(13)] public int Attempts { get; init; }

    /// <summary>When routing of the request began.</summary>
    [Id(14)] public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the request ended; this instant places the row in the budget windows.</summary>
    [Id(15)] public DateTimeOffset CompletedAt { get; init; }

    /// <summary>The deployment called, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(16)] public string? Deployment { get; init; }

    /// <summary>The W3C trace id (32 lowercase hex digits) the call ran under; null when it had no trace context.</summary>
    [Id(17)] public string? TraceId { get; init; }

    /// <summary>What the row bills: null or <c>model_call</c> for a model call, <c>tool_call</c> for an MCP tool call (then <see cref="Provider"/> is the MCP server and <see cref="Model"/> the tool).</summary>
    [Id(18)] public string? Kind { get; init; }

    /// <summary>The project the call was made under; null for none.</summary>
    [Id(19)] public string? ProjectId { get; init; }

    /// <summary>The id of the tenant key the call was made with; null for none.</summary>
    [Id(20)] public string? KeyId { get; init; }

    /// <summary>The end user the call was made for; null for none.</summary>
    [Id(21)] public string? EndUser { get; init; }

    /// <summary>How the response cache served the call (<see cref="CacheStatus"/>: hit, coalesced or miss); null when not cached.</summary>
    [Id(22)] public string? Cache { get; init; }

    /// <summary>On a hit or coalesced call: the upstream cost the cache saved, in USD.</summary>
    [Id(23)] public decimal SavedUsd { get; init; }

    /// <summary>Each try the request made, in order (model, provider, deployment, error class, latency); null when not recorded.</summary>
    [Id(24)] public IReadOnlyList<AttemptRecord>? AttemptLog { get; init; }
}
