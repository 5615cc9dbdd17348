namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// One call as billed: the ledger's row. <see cref="RequestId"/> is unique (a request is billed once);
/// <see cref="TenantSeq"/> is assigned by the tenant's budget grain, increasing per tenant, and is what the grain's
/// persisted counters are positioned by.
/// </summary>
internal sealed record LedgerRecord
{
    public required string RequestId { get; init; }

    public required string TenantId { get; init; }

    public long TenantSeq { get; init; }

    /// <summary>
    /// The fence epoch of the budget-grain activation that wrote the record (<see cref="ILedger.FenceAsync"/>); an append
    /// under an epoch older than the tenant's latest is refused. 0: not fenced. Not a column: checked when appended.
    /// </summary>
    public long Epoch { get; init; }

    public string? RunId { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string? Action { get; init; }

    public string? Strategy { get; init; }

    public required string Provider { get; init; }

    public required string Model { get; init; }

    /// <summary>The deployment called, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    public string? Deployment { get; init; }

    /// <summary>The W3C trace id of the call (the caller's, or the one the gateway started); null when it had none.</summary>
    public string? TraceId { get; init; }

    /// <summary>What was billed: <see cref="ModelCall"/> (a model's answer) or <see cref="ToolCall"/> (an MCP tool call through <c>/mcp</c>; then <see cref="Provider"/> is the MCP server and <see cref="Model"/> the tool).</summary>
    public string Kind { get; init; } = ModelCall;

    /// <summary>The <see cref="Kind"/> of a model call.</summary>
    public const string ModelCall = "model_call";

    /// <summary>The <see cref="Kind"/> of an MCP tool call.</summary>
    public const string ToolCall = "tool_call";

    /// <summary>
    /// Not a call: the sums of one rollup (tenant, UTC day, model, provider, project, key) of rows retention dropped, read
    /// by a full recount (<see cref="ILedger.ReadAfterAsync"/> from a negative position) so lifetime counters keep them.
    /// </summary>
    public const string RollupKind = "rollup";

    /// <summary>The project the call was made under (its key's project, or the one the caller named); null for none.</summary>
    public string? ProjectId { get; init; }

    /// <summary>The id of the tenant key the call was authenticated with (never the secret); null for a grain or <c>IChatClient</c> call that named none.</summary>
    public string? KeyId { get; init; }

    /// <summary>The end user the call was made for (OpenAI's <c>user</c>, Anthropic's <c>metadata.user_id</c> or the <c>X-LlmRouter-End-User</c> header); null for none.</summary>
    public string? EndUser { get; init; }

    /// <summary>How the response cache served the call: <c>hit</c>, <c>coalesced</c> (both answered without an upstream call of their own), <c>miss</c>; null when not cached.</summary>
    public string? Cache { get; init; }

    /// <summary>True for a call answered from the response cache (hit or coalesced).</summary>
    public bool IsCacheHit => Cache is "hit" or "coalesced";

    /// <summary>On a cache hit: the upstream cost it saved, in USD.</summary>
    public decimal SavedUsd { get; init; }

    /// <summary>Each try the request made, in order; null when not recorded (rows written before attempts were kept, hits).</summary>
    public IReadOnlyList<LedgerAttempt>? AttemptLog { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }

    public long CachedTokens { get; init; }

    public long ReasoningTokens { get; init; }

    /// <summary>Prompt tokens written to the provider's prompt cache (all TTLs; a subset of <see cref="PromptTokens"/>).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>The part of <see cref="CacheWriteTokens"/> written with a one-hour TTL (Anthropic).</summary>
    public long CacheWrite1hTokens { get; init; }

    /// <summary>True when the provider reported no usage and the gateway counted the tokens itself.</summary>
    public bool UsageEstimated { get; init; }

    public decimal CostUsd { get; init; }

    public double LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public bool Success { get; init; }

    public string? ErrorClass { get; init; }

    public int Attempts { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset CompletedAt { get; init; }

    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// One try of a request as the ledger keeps it (column <c>attempt_log</c>): the model and provider (and deployment)
/// tried, how it ended (null for an answer taken; else the error class, or the class the answer was rejected for), and
/// how long it took. The provider's message is not kept: it may quote the request.
/// </summary>
internal sealed record LedgerAttempt(string Model, string Provider, string? Deployment, string? ErrorClass, double LatencyMs);
