namespace Orleans.LlmRouter.Contracts;

/// <summary>A dry-run routing decision.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RouteExplanation")]
public sealed record RouteExplanation(
    [property: Id(0)] string? ChosenModel,
    [property: Id(1)] IReadOnlyList<string> Fallbacks,
    [property: Id(2)] long EstimatedPromptTokens,
    [property: Id(3)] long ReservedOutputTokens,
    [property: Id(4)] decimal EstimatedCostUsd,
    [property: Id(5)] IReadOnlyList<CandidateDecision> Candidates);
