namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The tenant named by <see cref="RouterContext.TenantId"/> does not exist (neither in YAML nor managed). An unknown
/// tenant is refused, never served without budgets or model restrictions (HTTP: 401).
/// </summary>
[GenerateSerializer, Alias("llmrouter.TenantNotFoundException")]
public sealed class TenantNotFoundException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TenantNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TenantNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TenantNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant id that was asked for.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;
}
