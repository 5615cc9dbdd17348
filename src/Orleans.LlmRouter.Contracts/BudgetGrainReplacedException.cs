namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The activation of a tenant's budget grain that received the call was replaced by a newer one (the grain moved to
/// another silo, and for a moment both lived): it refuses to reserve or record anything more, and deactivates. Nothing
/// was held or recorded by this call; repeat it, and it reaches the newer activation. The router's own calls repeat it
/// within their bound (an HTTP caller never sees it; at worst a 503 with Retry-After).
/// </summary>
[GenerateSerializer, Alias("llmrouter.BudgetGrainReplacedException")]
public sealed class BudgetGrainReplacedException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public BudgetGrainReplacedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BudgetGrainReplacedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public BudgetGrainReplacedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant whose budget grain was replaced.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;
}
