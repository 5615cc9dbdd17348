namespace Orleans.LlmRouter.Contracts;

/// <summary>The kind of a content part inside a chat message.</summary>
public enum ContentPartKind
{
    /// <summary>Plain text.</summary>
    Text = 0,

    /// <summary>An image given by URL or as a base64 data URI.</summary>
    Image = 1,
}

/// <summary>One part of a message's content: text or an image.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ContentPart")]
public sealed record ContentPart(
    [property: Id(0)] ContentPartKind Kind,
    [property: Id(1)] string? Text = null,
    [property: Id(2)] string? ImageUrl = null,
    [property: Id(3)] string? ImageDetail = null)
{
    /// <summary>
    /// A prompt-cache breakpoint on this part, as the caller sent it (Anthropic's <c>cache_control</c> object, e.g.
    /// <c>{"type":"ephemeral","ttl":"1h"}</c>): passed on by adapters whose API takes it, ignored by the others.
    /// </summary>
    [Id(4)] public string? CacheControlJson { get; init; }

    /// <summary>Creates a text part.</summary>
    public static ContentPart FromText(string text) => new(ContentPartKind.Text, Text: text);

    /// <summary>Creates an image part from a URL or data URI.</summary>
    public static ContentPart FromImage(string url, string? detail = null) => new(ContentPartKind.Image, ImageUrl: url, ImageDetail: detail);
}

/// <summary>A tool call the model asked for. <see cref="ArgumentsJson"/> is always a JSON object text.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ToolCall")]
public sealed record ToolCall(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ArgumentsJson);

/// <summary>A function the model may call. <see cref="ParametersJson"/> is a JSON schema text.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ToolDefinition")]
public sealed record ToolDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] string? ParametersJson,
    [property: Id(3)] bool Strict = false)
{
    /// <summary>A prompt-cache breakpoint after this tool definition (see <see cref="ContentPart.CacheControlJson"/>).</summary>
    [Id(4)] public string? CacheControlJson { get; init; }
}

/// <summary>One chat message. Roles: system, developer, user, assistant, tool.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatMessage")]
public sealed record ChatMessage(
    [property: Id(0)] string Role,
    [property: Id(1)] IReadOnlyList<ContentPart> Content,
    [property: Id(2)] string? Name = null,
    [property: Id(3)] string? ToolCallId = null,
    [property: Id(4)] IReadOnlyList<ToolCall>? ToolCalls = null)
{
    /// <summary>Creates a message with a single text part.</summary>
    public static ChatMessage FromText(string role, string text) => new(role, [ContentPart.FromText(text)]);

    /// <summary>The concatenated text of all text parts.</summary>
    public string Text => Content.Count switch
    {
        0 => string.Empty,
        1 => Content[0].Text ?? string.Empty,
        _ => string.Concat(Content.Where(p => p.Kind == ContentPartKind.Text).Select(p => p.Text)),
    };
}

/// <summary>Requested output format.</summary>
public enum ResponseFormatKind
{
    /// <summary>Free text.</summary>
    Text = 0,

    /// <summary>Any valid JSON object.</summary>
    JsonObject = 1,

    /// <summary>JSON that validates against <see cref="ResponseFormat.SchemaJson"/>.</summary>
    JsonSchema = 2,
}

/// <summary>The response format a caller asked for.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ResponseFormat")]
public sealed record ResponseFormat(
    [property: Id(0)] ResponseFormatKind Kind,
    [property: Id(1)] string? SchemaName = null,
    [property: Id(2)] string? SchemaJson = null,
    [property: Id(3)] bool Strict = false);

/// <summary>A provider-neutral chat request.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatRequest")]
public sealed record ChatRequest(
    [property: Id(0)] IReadOnlyList<ChatMessage> Messages)
{
    /// <summary>Sampling temperature, passed to the provider; null for the provider's default.</summary>
    [Id(1)] public double? Temperature { get; init; }

    /// <summary>Nucleus-sampling probability mass, passed to the provider; null for the provider's default.</summary>
    [Id(2)] public double? TopP { get; init; }

    /// <summary>Maximum output tokens; when null the model's default cap applies.</summary>
    [Id(3)] public int? MaxOutputTokens { get; init; }

    /// <summary>Sequences that end the output when generated; null for none.</summary>
    [Id(4)] public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>The output format asked for; null for free text.</summary>
    [Id(5)] public ResponseFormat? ResponseFormat { get; init; }

    /// <summary>Functions the model may call; null for none.</summary>
    [Id(6)] public IReadOnlyList<ToolDefinition>? Tools { get; init; }

    /// <summary>none, auto, required, or the name of a function to force.</summary>
    [Id(7)] public string? ToolChoice { get; init; }

    /// <summary>Seed for reproducible sampling, sent to providers that take one; null for none.</summary>
    [Id(8)] public long? Seed { get; init; }

    /// <summary>The end user's id, sent to providers that take one; null for none.</summary>
    [Id(9)] public string? User { get; init; }

    /// <summary>Key-value pairs the caller attached to the request; null for none.</summary>
    [Id(10)] public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>
    /// Reasoning effort asked for (<c>minimal</c>, <c>low</c>, <c>medium</c>, <c>high</c>; OpenAI <c>reasoning_effort</c>);
    /// passed only to models with the <c>reasoning</c> capability.
    /// </summary>
    [Id(11)] public string? ReasoningEffort { get; init; }

    /// <summary>Thinking budget in tokens asked for (Anthropic <c>thinking.budget_tokens</c>); passed only to models with the <c>reasoning</c> capability.</summary>
    [Id(12)] public int? ThinkingBudgetTokens { get; init; }

    /// <summary>True when the request asks for reasoning (an effort or a thinking budget).</summary>
    public bool WantsReasoning => ReasoningEffort is not (null or "none") || ThinkingBudgetTokens is > 0;

    /// <summary>True when any message carries an image part.</summary>
    public bool HasImages => Messages.Any(m => m.Content.Any(p => p.Kind == ContentPartKind.Image));
}

/// <summary>Who asks and how to route: tenant, run, action/strategy or explicit model, limits, tags.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RoutingContext")]
public sealed record RoutingContext(
    [property: Id(0)] string TenantId)
{
    /// <summary>Unique id of this request; also the ledger's idempotency key.</summary>
    [Id(1)] public string RequestId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>The caller's run (a group of requests, such as one agent task), for per-run budgets; null for none.</summary>
    [Id(2)] public string? RunId { get; init; }

    /// <summary>An action name from the catalog (routes through its strategy chains).</summary>
    [Id(3)] public string? Action { get; init; }

    /// <summary>A strategy of the action; <c>default</c> when null.</summary>
    [Id(4)] public string? Strategy { get; init; }

    /// <summary>An explicit catalog model, or <c>auto</c> for dynamic routing.</summary>
    [Id(5)] public string? Model { get; init; }

    /// <summary>The most this request may cost, in USD: candidates estimated above it are skipped; null for no cap.</summary>
    [Id(6)] public decimal? MaxCostUsd { get; init; }

    /// <summary>Free-form tags, stored with the request's ledger row.</summary>
    [Id(7)] public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>
/// Token usage, normalised across providers. <see cref="PromptTokens"/> is the whole prompt as billed (cache reads and
/// cache writes included); <see cref="CachedTokens"/> (read from the prompt cache) and <see cref="CacheWriteTokens"/>
/// (written to it, all TTLs; <see cref="CacheWrite1hTokens"/> is its one-hour part) are subsets of it.
/// <see cref="ReasoningTokens"/> is a subset of <see cref="CompletionTokens"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.TokenUsage")]
public sealed record TokenUsage(
    [property: Id(0)] long PromptTokens,
    [property: Id(1)] long CompletionTokens,
    [property: Id(2)] long CachedTokens = 0,
    [property: Id(3)] long ReasoningTokens = 0,
    [property: Id(4)] long CacheWriteTokens = 0,
    [property: Id(5)] long CacheWrite1hTokens = 0)
{
    /// <summary>No usage.</summary>
    public static TokenUsage Zero { get; } = new(0, 0);

    /// <summary>
    /// True when the provider reported no usage and <see cref="CompletionTokens"/> (and possibly
    /// <see cref="PromptTokens"/>) were counted by the gateway from what it received.
    /// </summary>
    [Id(6)] public bool Estimated { get; init; }

    /// <summary>Prompt plus completion tokens.</summary>
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>One try of one model during a routed call.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.AttemptRecord")]
public sealed record AttemptRecord(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] bool Success,
    [property: Id(3)] string? ErrorClass,
    [property: Id(4)] string? Message,
    [property: Id(5)] double LatencyMs)
{
    /// <summary>The deployment tried, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(6)] public string? Deployment { get; init; }
}

/// <summary>The result of a routed chat completion.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatCompletion")]
public sealed record ChatCompletion(
    [property: Id(0)] string Id,
    [property: Id(1)] string Model,
    [property: Id(2)] string Provider,
    [property: Id(3)] string ProviderModel,
    [property: Id(4)] ChatMessage Message,
    [property: Id(5)] string FinishReason,
    [property: Id(6)] TokenUsage Usage,
    [property: Id(7)] decimal CostUsd,
    [property: Id(8)] IReadOnlyList<AttemptRecord> Attempts,
    [property: Id(9)] double LatencyMs,
    [property: Id(10)] DateTimeOffset Created)
{
    /// <summary>The deployment that answered, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(11)] public string? Deployment { get; init; }
}

/// <summary>One item of a routed stream: a text or tool-call delta, then a final item with usage.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatStreamItem")]
public sealed record ChatStreamItem
{
    /// <summary>Text added by this item; null when it adds none.</summary>
    [Id(0)] public string? TextDelta { get; init; }

    /// <summary>Tool-call deltas of this item; null when it carries none.</summary>
    [Id(1)] public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    /// <summary>Set on the last item.</summary>
    [Id(2)] public string? FinishReason { get; init; }

    /// <summary>Set on the last item (also after a mid-stream failure: the partial usage).</summary>
    [Id(3)] public TokenUsage? Usage { get; init; }

    /// <summary>Cost in USD of <see cref="Usage"/>; set on the last item.</summary>
    [Id(4)] public decimal? CostUsd { get; init; }

    /// <summary>The logical model serving the stream (set on the first item).</summary>
    [Id(5)] public string? Model { get; init; }

    /// <summary>The provider id serving the stream (set on the first item).</summary>
    [Id(6)] public string? Provider { get; init; }

    /// <summary>The deployment serving the stream (set on the first item), for a model with <c>deployments</c>.</summary>
    [Id(9)] public string? Deployment { get; init; }

    /// <summary>Error class when the stream ended by an upstream failure after the first chunk.</summary>
    [Id(7)] public string? ErrorClass { get; init; }

    /// <summary>The provider's message when the stream ended by an upstream failure (see <see cref="ErrorClass"/>).</summary>
    [Id(8)] public string? ErrorMessage { get; init; }
}

/// <summary>Why a candidate was chosen or skipped in a dry run.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CandidateDecision")]
public sealed record CandidateDecision(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] bool Eligible,
    [property: Id(3)] string Reason,
    [property: Id(4)] decimal EstimatedCostUsd);

/// <summary>A dry-run routing decision.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RouteExplanation")]
public sealed record RouteExplanation(
    [property: Id(0)] string? ChosenModel,
    [property: Id(1)] IReadOnlyList<string> Fallbacks,
    [property: Id(2)] long EstimatedPromptTokens,
    [property: Id(3)] long ReservedOutputTokens,
    [property: Id(4)] decimal EstimatedCostUsd,
    [property: Id(5)] IReadOnlyList<CandidateDecision> Candidates);

/// <summary>Texts to embed.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.EmbeddingRequest")]
public sealed record EmbeddingRequest(
    [property: Id(0)] IReadOnlyList<string> Inputs,
    [property: Id(1)] int? Dimensions = null);

/// <summary>Embedding vectors in input order, with what they cost.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.EmbeddingResult")]
public sealed record EmbeddingResult(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] IReadOnlyList<float[]> Vectors,
    [property: Id(3)] TokenUsage Usage,
    [property: Id(4)] decimal CostUsd,
    [property: Id(5)] IReadOnlyList<AttemptRecord> Attempts)
{
    /// <summary>The deployment that answered, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(6)] public string? Deployment { get; init; }
}
