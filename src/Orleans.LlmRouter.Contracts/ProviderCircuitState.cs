namespace Orleans.LlmRouter.Contracts;

/// <summary>Circuit state of a provider as seen by the cluster.</summary>
public enum ProviderCircuitState
{
    /// <summary>Calls flow; failures are counted against the breaker thresholds.</summary>
    Closed = 0,
    /// <summary>Calls are refused until <see cref="ProviderSnapshot.OpenUntil"/>.</summary>
    Open = 1,
    /// <summary>The break is over: one cluster-wide probe call decides whether the circuit closes or opens again.</summary>
    HalfOpen = 2,
}
