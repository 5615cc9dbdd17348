namespace Orleans.LlmRouter.Contracts;

/// <summary>A USD limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.CostBudgetExceededException")]
public sealed class CostBudgetExceededException : BudgetExceededException
{
    /// <summary>Creates the exception with a default message.</summary>
    public CostBudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CostBudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public CostBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>USD already spent in the window.</summary>
    [Id(0)] public decimal UsedUsd { get; init; }

    /// <summary>USD held by reservations of calls still in flight.</summary>
    [Id(1)] public decimal InFlightUsd { get; init; }

    /// <summary>The window's USD limit.</summary>
    [Id(2)] public decimal LimitUsd { get; init; }

    /// <summary>USD this call asked to reserve (its worst-case cost).</summary>
    [Id(3)] public decimal RequestedUsd { get; init; }
}
