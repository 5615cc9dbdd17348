namespace Orleans.LlmRouter.Contracts;

/// <summary>Why a candidate was chosen or skipped in a dry run.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CandidateDecision")]
public sealed record CandidateDecision(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] bool Eligible,
    [property: Id(3)] string Reason,
    [property: Id(4)] decimal EstimatedCostUsd);
