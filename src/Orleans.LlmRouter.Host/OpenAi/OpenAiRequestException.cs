namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>A request body that does not fit the OpenAI shape; becomes a 400 with <see cref="Param"/>.</summary>
internal sealed class OpenAiRequestException : Exception
{
    public OpenAiRequestException()
    {
    }

    public OpenAiRequestException(string message)
        : base(message)
    {
    }

    public OpenAiRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OpenAiRequestException(string? param, string message)
        : base(message) => Param = param;

    public string? Param { get; }
}
