using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// A Responses API body: the request model's options with the new input as <see cref="ChatRequest.Messages"/>
/// (<see cref="Template"/>; the endpoint puts the instructions and a previous response's conversation in front),
/// the fields the response object echoes, and one warning per parameter accepted but not honoured.
/// </summary>
internal sealed record ParsedResponsesRequest(ChatRequest Template, string Model, bool Stream, IReadOnlyList<string> Warnings)
{
    public string? Instructions { get; init; }

    public string? PreviousResponseId { get; init; }

    /// <summary>False when the caller asked not to keep the response (<c>store: false</c>).</summary>
    public bool Store { get; init; } = true;

    public bool ParallelToolCalls { get; init; } = true;

    public string? ReasoningEffort { get; init; }
}
