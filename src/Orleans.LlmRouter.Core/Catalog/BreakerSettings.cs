namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Circuit-breaker thresholds.</summary>
public sealed record BreakerSettings(
    double FailureRatio = 0.5,
    int MinimumCalls = 10,
    TimeSpan? SamplingWindow = null,
    TimeSpan? BreakDuration = null)
{
    /// <summary>The defaults: a failure ratio of 0.5 over at least 10 calls in 30 s opens the circuit for 30 s.</summary>
    public static BreakerSettings Default { get; } = new();

    /// <summary><see cref="SamplingWindow"/>, or 30 s when it is not set.</summary>
    public TimeSpan Window => SamplingWindow ?? TimeSpan.FromSeconds(30);

    /// <summary><see cref="BreakDuration"/>, or 30 s when it is not set.</summary>
    public TimeSpan Break => BreakDuration ?? TimeSpan.FromSeconds(30);
}
