namespace Orleans.LlmRouter.Contracts;

/// <summary>The tenant's own rate limit (requests or tokens per minute) is spent until <see cref="RetryAfterSeconds"/>.</summary>
[GenerateSerializer, Alias("llmrouter.TenantRateLimitedException")]
public sealed class TenantRateLimitedException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TenantRateLimitedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TenantRateLimitedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TenantRateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant whose limit is spent.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>rpm or tpm.</summary>
    [Id(1)] public string Limit { get; init; } = string.Empty;

    /// <summary>Seconds until the current minute ends and the limit refills (at least 1).</summary>
    [Id(2)] public int RetryAfterSeconds { get; init; }

    /// <summary>The level whose limit is spent: <c>tenant</c>, <c>project</c>, <c>key</c> or <c>end_user</c>.</summary>
    [Id(3)] public string Level { get; init; } = BudgetLevels.Tenant;

    /// <summary>The id of that level.</summary>
    [Id(4)] public string LevelId { get; init; } = string.Empty;
}
