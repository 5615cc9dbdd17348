namespace Orleans.LlmRouter.Contracts;

/// <summary>The tenant id or key does not exist, or the change conflicts with the current state.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRegistryException")]
public sealed class TenantRegistryException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TenantRegistryException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TenantRegistryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TenantRegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>not_found, conflict or invalid.</summary>
    [Id(0)] public string Kind { get; init; } = "invalid";
}
