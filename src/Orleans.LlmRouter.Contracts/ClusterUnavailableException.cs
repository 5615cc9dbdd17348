namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// A part of the cluster the call needs (a budget or provider grain's silo) could not be reached within the router's
/// bound; nothing was sent upstream, or what was delivered is billed. Retry after <see cref="RetryAfterSeconds"/>
/// (HTTP: 503 with Retry-After).
/// </summary>
[GenerateSerializer, Alias("llmrouter.ClusterUnavailableException")]
public sealed class ClusterUnavailableException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ClusterUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ClusterUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ClusterUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Seconds to wait before retrying (the HTTP Retry-After value); 2 unless set.</summary>
    [Id(0)] public int RetryAfterSeconds { get; init; } = 2;
}
