namespace Orleans.LlmRouter.Contracts;

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
