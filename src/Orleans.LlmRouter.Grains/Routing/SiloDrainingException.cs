namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// The router on a stopping silo refused a call before doing anything for it (no reservation, no permit, nothing sent
/// upstream, nothing billed): the caller may send it to another silo. A separate front end retries it once through
/// another router key; if that is refused too, it answers 503 with Retry-After.
/// </summary>
[GenerateSerializer, Alias("llmrouter.SiloDrainingException")]
internal sealed class SiloDrainingException : Exception
{
    public SiloDrainingException()
        : base("This silo is stopping and takes no new calls; send the call to another silo.")
    {
    }

    public SiloDrainingException(string message)
        : base(message)
    {
    }

    public SiloDrainingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
