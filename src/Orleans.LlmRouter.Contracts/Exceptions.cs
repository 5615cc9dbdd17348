namespace Orleans.LlmRouter.Contracts;

/// <summary>Base of the router's typed errors surfaced through the grain API.</summary>
[GenerateSerializer, Alias("llmrouter.LlmRouterException")]
public class LlmRouterException : Exception
{
    public LlmRouterException()
    {
    }

    public LlmRouterException(string message)
        : base(message)
    {
    }

    public LlmRouterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The routing hints name something the catalog does not have, or the request cannot be routed.</summary>
[GenerateSerializer, Alias("llmrouter.InvalidRoutingException")]
public sealed class InvalidRoutingException : LlmRouterException
{
    public InvalidRoutingException()
    {
    }

    public InvalidRoutingException(string message)
        : base(message)
    {
    }

    public InvalidRoutingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The request field the error is about (e.g. <c>model</c>), when known.</summary>
    [Id(0)] public string? Param { get; init; }

    /// <summary>True when the thing named is unknown (maps to HTTP 404), false for a bad request (400).</summary>
    [Id(1)] public bool NotFound { get; init; }
}

/// <summary>Every candidate model failed. <see cref="Attempts"/> lists each try.</summary>
[GenerateSerializer, Alias("llmrouter.AllModelsFailedException")]
public sealed class AllModelsFailedException : LlmRouterException
{
    public AllModelsFailedException()
    {
    }

    public AllModelsFailedException(string message)
        : base(message)
    {
    }

    public AllModelsFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AllModelsFailedException(IReadOnlyList<AttemptRecord> attempts, IReadOnlyList<CandidateDecision> skipped)
        : base(Describe(attempts, skipped))
    {
        Attempts = attempts;
        Skipped = skipped;
    }

    [Id(0)] public IReadOnlyList<AttemptRecord> Attempts { get; init; } = [];

    [Id(1)] public IReadOnlyList<CandidateDecision> Skipped { get; init; } = [];

    /// <summary>Retry-after hint (seconds) when every failure was a rate limit, else null.</summary>
    [Id(2)] public double? RetryAfterSeconds { get; init; }

    private static string Describe(IReadOnlyList<AttemptRecord> attempts, IReadOnlyList<CandidateDecision> skipped)
    {
        var parts = attempts.Select(a => $"{a.Model}@{a.Provider}{(a.Deployment is { } d && d != a.Provider ? " (deployment " + d + ")" : string.Empty)}: {a.ErrorClass} ({a.Message})")
            .Concat(skipped.Select(s => $"{s.Model}@{s.Provider}: skipped ({s.Reason})"));
        return "All models failed: " + string.Join("; ", parts);
    }
}
