namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The tenant named by <see cref="RoutingContext.TenantId"/> does not exist (neither in YAML nor managed). An unknown
/// tenant is refused, never served without budgets or model restrictions (HTTP: 401).
/// </summary>
[GenerateSerializer, Alias("llmrouter.TenantNotFoundException")]
public sealed class TenantNotFoundException : LlmRouterException
{
    public TenantNotFoundException()
    {
    }

    public TenantNotFoundException(string message)
        : base(message)
    {
    }

    public TenantNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant id that was asked for.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;
}
