namespace Orleans.LlmRouter.Contracts;

/// <summary>Every candidate model failed. <see cref="Attempts"/> lists each try.</summary>
[GenerateSerializer, Alias("llmrouter.AllModelsFailedException")]
public sealed class AllModelsFailedException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public AllModelsFailedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AllModelsFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public AllModelsFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception from the attempts made and the candidates skipped; its message lists each.</summary>
    public AllModelsFailedException(IReadOnlyList<AttemptRecord> attempts, IReadOnlyList<CandidateDecision> skipped)
        : base(Describe(attempts, skipped))
    {
        Attempts = attempts;
        Skipped = skipped;
    }

    /// <summary>Every try of a candidate model, in order, with its error class and message.</summary>
    [Id(0)] public IReadOnlyList<AttemptRecord> Attempts { get; init; } = [];

    /// <summary>The candidates that were not tried, each with the reason (over budget, unavailable, too small a context...).</summary>
    [Id(1)] public IReadOnlyList<CandidateDecision> Skipped { get; init; } = [];

    /// <summary>Retry-after hint (seconds) when every failure was a rate limit, else null.</summary>
    [Id(2)] public double? RetryAfterSeconds { get; init; }

    /// <summary>
    /// Why each candidate that could have taken the call did not: the error class of every attempt, then of every
    /// candidate skipped because it could not take a call now (see <see cref="CandidateDecision.ErrorClass"/>).
    /// </summary>
    public IEnumerable<ProviderErrorClass?> Refusals() =>
        Attempts.Select(a => a.ErrorClass).Concat(Skipped.Where(s => s.ErrorClass is not null).Select(s => s.ErrorClass));

    private static string Describe(IReadOnlyList<AttemptRecord> attempts, IReadOnlyList<CandidateDecision> skipped)
    {
        var parts = attempts.Select(a => $"{a.Model}@{a.Provider}{(a.Deployment is { } d && d != a.Provider ? " (deployment " + d + ")" : string.Empty)}: {a.ErrorClass?.Name()} ({a.Message})")
            .Concat(skipped.Select(s => $"{s.Model}@{s.Provider}: skipped ({s.Reason})"));
        return "All models failed: " + string.Join("; ", parts);
    }
}
