namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>A stored object a request names does not exist for its tenant (a response id): a 404 on every surface.</summary>
internal sealed class SurfaceNotFoundException : Exception
{
    public SurfaceNotFoundException()
    {
    }

    public SurfaceNotFoundException(string message)
        : base(message)
    {
    }

    public SurfaceNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SurfaceNotFoundException(string? param, string message)
        : base(message) => Param = param;

    /// <summary>The request field naming the missing object.</summary>
    public string? Param { get; }
}
