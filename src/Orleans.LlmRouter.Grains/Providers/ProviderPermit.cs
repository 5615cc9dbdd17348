using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>A granted permission to send one upstream request. Hand it back with <see cref="ProviderGate.Complete(ProviderPermit, Contracts.ProviderOutcome)"/>.</summary>
internal sealed class ProviderPermit
{
    internal ProviderPermit(ProviderDefinition provider, long estimatedTokens, bool probe, bool slot)
    {
        Provider = provider;
        EstimatedTokens = estimatedTokens;
        IsProbe = probe;
        HoldsSlot = slot;
    }

    public ProviderDefinition Provider { get; }

    public long EstimatedTokens { get; }

    /// <summary>True when this call is the cluster's single half-open probe.</summary>
    public bool IsProbe { get; }

    internal bool HoldsSlot { get; }

    /// <summary>True for a granted permit: it counts as a call in flight until it is completed or handed back.</summary>
    internal bool Counted { get; init; }

    /// <summary>End of the rate lease the call's tokens were taken from (unused tokens go back to it while it lasts).</summary>
    internal DateTimeOffset LeaseExpires { get; init; }
}
