namespace Orleans.LlmRouter.Contracts;

/// <summary>A token limit would be exceeded.</summary>
[GenerateSerializer, Alias("llmrouter.TokenBudgetExceededException")]
public sealed class TokenBudgetExceededException : BudgetExceededException
{
    /// <summary>Creates the exception with a default message.</summary>
    public TokenBudgetExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TokenBudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TokenBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Tokens already used in the window.</summary>
    [Id(0)] public long Used { get; init; }

    /// <summary>Tokens held by reservations of calls still in flight.</summary>
    [Id(1)] public long InFlight { get; init; }

    /// <summary>The window's token limit.</summary>
    [Id(2)] public long Limit { get; init; }

    /// <summary>Tokens this call asked to reserve.</summary>
    [Id(3)] public long Requested { get; init; }
}
