namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// A request that does not fit its surface's shape (OpenAI Chat Completions, Responses, Embeddings, Anthropic Messages,
/// a routing header): a 400 in that surface's error shape, naming <see cref="Param"/> where one is at fault.
/// </summary>
internal sealed class InvalidRequestException : Exception
{
    public InvalidRequestException()
    {
    }

    public InvalidRequestException(string message)
        : base(message)
    {
    }

    public InvalidRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InvalidRequestException(string? param, string message)
        : base(message) => Param = param;

    public string? Param { get; }
}
