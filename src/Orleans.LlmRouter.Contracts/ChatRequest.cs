namespace Orleans.LlmRouter.Contracts;

/// <summary>A provider-neutral chat request.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ChatRequest")]
public sealed record ChatRequest(
    [property: Id(0)] IReadOnlyList<RouterMessage> Messages)
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

    /// <summary>True when any message carries a document part (a PDF the model reads itself).</summary>
    public bool HasDocuments => Messages.Any(m => m.Content.Any(p => p.Kind == ContentPartKind.Document));
}
