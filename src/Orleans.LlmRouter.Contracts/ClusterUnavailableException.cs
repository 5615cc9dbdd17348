namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// A part of the cluster the call needs (a budget or provider grain's silo) could not be reached within the router's
/// bound; nothing was sent upstream, or what was delivered is billed. Retry after <see cref="RetryAfterSeconds"/>
/// (HTTP: 503 with Retry-After).
/// </summary>
[GenerateSerializer, Alias("llmrouter.ClusterUnavailableException")]
public sealed class ClusterUnavailableException : LlmRouterException
{
    public ClusterUnavailableException()
    {
    }

    public ClusterUnavailableException(string message)
        : base(message)
    {
    }

    public ClusterUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [Id(0)] public int RetryAfterSeconds { get; init; } = 2;
}
