using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// Permission for one upstream call: the provider's permit and, for a model with its own limits or breaker
/// (<see cref="ModelScopes"/>), the model scope's. Hand it back with <see cref="ProviderGate.Complete(CallPermit, ProviderOutcome)"/>.
/// </summary>
internal sealed class CallPermit(ProviderPermit provider, ProviderPermit? model, bool modelHasBreaker = false, bool isDeployment = false)
{
    /// <summary>
    /// True when the second scope is a deployment's: a 429's Retry-After then pauses only the deployment, not its provider.
    /// </summary>
    public bool IsDeployment { get; } = isDeployment;

    /// <summary>
    /// True when the model scope has its own breaker: the model's failures then count there, and at the provider only
    /// when they say the provider itself is unreachable (connection, timeout).
    /// </summary>
    public bool ModelHasBreaker { get; } = modelHasBreaker;

    public ProviderPermit Provider { get; } = provider;

    public ProviderPermit? Model { get; } = model;

    /// <summary>True when this call is a half-open probe of the provider or of the model scope.</summary>
    public bool IsProbe => Provider.IsProbe || Model?.IsProbe == true;

    public long EstimatedTokens => Provider.EstimatedTokens;
}
