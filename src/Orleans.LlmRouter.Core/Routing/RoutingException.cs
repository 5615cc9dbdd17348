namespace Orleans.LlmRouter.Core.Routing;

/// <summary>The routing hints cannot be honoured (unknown model/action/strategy, nothing allowed).</summary>
internal sealed class RoutingException : Exception
{
    public RoutingException()
    {
    }

    public RoutingException(string message)
        : base(message)
    {
    }

    public RoutingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RoutingException(string message, string param, bool notFound)
        : base(message)
    {
        Param = param;
        NotFound = notFound;
    }

    public string? Param { get; }

    public bool NotFound { get; }

    /// <summary>The capabilities an explicit model (or action) lacks for this request, by YAML name; empty otherwise.</summary>
    public IReadOnlyList<string> MissingCapabilities { get; init; } = [];
}
