namespace Orleans.LlmRouter.Contracts;

/// <summary>One try of one model during a routed call.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.AttemptRecord")]
public sealed record AttemptRecord(
    [property: Id(0)] string Model,
    [property: Id(1)] string Provider,
    [property: Id(2)] bool Success,
    [property: Id(3)] ProviderErrorClass? ErrorClass,
    [property: Id(4)] string? Message,
    [property: Id(5)] double LatencyMs)
{
    /// <summary>The deployment tried, for a model with <c>deployments</c>; null for a single-provider model.</summary>
    [Id(6)] public string? Deployment { get; init; }
}
