namespace Orleans.LlmRouter.Contracts;

/// <summary>Base of budget rejections: the window, usage, limit and the reservation that did not fit.</summary>
[GenerateSerializer, Alias("llmrouter.BudgetExceededException")]
public abstract class BudgetExceededException : LlmRouterException
{
    /// <summary>Creates the exception with a default message.</summary>
    protected BudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    protected BudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    protected BudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant whose budget the call would exceed.</summary>
    [Id(0)] public string TenantId { get; init; } = string.Empty;

    /// <summary>lifetime, daily, monthly or run.</summary>
    [Id(1)] public string Window { get; init; } = string.Empty;

    /// <summary>The level whose budget the call would exceed: <c>tenant</c>, <c>project</c>, <c>key</c> or <c>end_user</c>.</summary>
    [Id(2)] public string Level { get; init; } = BudgetLevels.Tenant;

    /// <summary>The id of that level (the tenant id, project id, key id or end user).</summary>
    [Id(3)] public string LevelId { get; init; } = string.Empty;
}
