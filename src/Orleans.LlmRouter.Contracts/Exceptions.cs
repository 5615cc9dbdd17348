namespace Orleans.LlmRouter.Contracts;

/// <summary>Base of the router's typed errors surfaced through the grain API.</summary>
[GenerateSerializer, Alias("llmrouter.LlmRouterException")]
public class LlmRouterException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public LlmRouterException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LlmRouterException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public LlmRouterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The routing hints name something the catalog does not have, or the request cannot be routed.</summary>
[GenerateSerializer, Alias("llmrouter.InvalidRoutingException")]
public sealed class InvalidRoutingException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public InvalidRoutingException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidRoutingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
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

    private static string Describe(IReadOnlyList<AttemptRecord> attempts, IReadOnlyList<CandidateDecision> skipped)
    {
        var parts = attempts.Select(a => $"{a.Model}@{a.Provider}{(a.Deployment is { } d && d != a.Provider ? " (deployment " + d + ")" : string.Empty)}: {a.ErrorClass} ({a.Message})")
            .Concat(skipped.Select(s => $"{s.Model}@{s.Provider}: skipped ({s.Reason})"));
        return "All models failed: " + string.Join("; ", parts);
    }
}
