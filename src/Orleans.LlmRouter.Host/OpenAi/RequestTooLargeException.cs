namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The request body is larger than the gateway accepts; becomes a 413 <c>request_too_large</c>.</summary>
internal sealed class RequestTooLargeException : Exception
{
    public RequestTooLargeException()
    {
    }

    public RequestTooLargeException(string message)
        : base(message)
    {
    }

    public RequestTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
