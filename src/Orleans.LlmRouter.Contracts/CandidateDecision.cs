namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Why a candidate was chosen or skipped (in a dry run, or when every candidate failed). <see cref="ErrorClass"/> is set
/// when the candidate was skipped because it could not take a call now: a limit of ours spent
/// (<see cref="ProviderErrorClass.RequestsPerMinuteLimit"/>, <see cref="ProviderErrorClass.TokensPerMinuteLimit"/>), a
/// pause after an upstream 429 (<see cref="ProviderErrorClass.RateLimited"/>), or an open circuit or a provider disabled
/// at run time (<see cref="ProviderErrorClass.Unavailable"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.CandidateDecision")]
public sealed record CandidateDecision(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] bool Eligible,
    [property: Id(3)] string Reason,
    [property: Id(4)] decimal EstimatedCostUsd,
    [property: Id(5)] ProviderErrorClass? ErrorClass = null);
