using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// Why the gate did not admit a call: the text (which names the scope) and its class — <see cref="ProviderErrorClass.Unavailable"/>
/// for a disabled, paused or broken provider, or the limit of ours that is reached
/// (<see cref="ProviderErrorClass.RequestsPerMinuteLimit"/>, <see cref="ProviderErrorClass.TokensPerMinuteLimit"/>,
/// <see cref="ProviderErrorClass.ConcurrencyLimit"/>), with the time a retry may pass for the per-minute ones.
/// </summary>
internal sealed record GateRefusal(string Reason, ProviderErrorClass Class, DateTimeOffset? RetryAt = null)
{
    /// <summary>True when the refusal is one of our own capacity limits: retryable, not an upstream failure.</summary>
    public bool IsCapacity => Class.IsCapacityLimit();

    public override string ToString() => Reason;
}

/// <summary>Capacity classes of <see cref="ProviderErrorClass"/>.</summary>
internal static class CapacityLimits
{
    /// <summary>True for the gateway's own rpm, tpm and concurrency limits.</summary>
    public static bool IsCapacityLimit(this ProviderErrorClass errorClass) =>
        errorClass is ProviderErrorClass.RequestsPerMinuteLimit or ProviderErrorClass.TokensPerMinuteLimit or ProviderErrorClass.ConcurrencyLimit;
}
