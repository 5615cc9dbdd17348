namespace Orleans.LlmRouter.Contracts;

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
    [Id(7)] public ProviderErrorClass? ErrorClass { get; init; }

    /// <summary>The provider's message when the stream ended by an upstream failure (see <see cref="ErrorClass"/>).</summary>
    [Id(8)] public string? ErrorMessage { get; init; }

    /// <summary>How the response cache served the stream (<see cref="CacheStatus"/>), set on the first item; null when it was not asked.</summary>
    [Id(10)] public string? Cache { get; init; }

    /// <summary>Set on the last item of a stream answered from the cache: what the upstream call would have cost, in USD.</summary>
    [Id(11)] public decimal? SavedUsd { get; init; }
}
