namespace Orleans.LlmRouter.Core.Providers;

/// <summary>States of a circuit breaker.</summary>
internal enum BreakerState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}
