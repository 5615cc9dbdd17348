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
