namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Per-provider (or per-model) limits; null means unlimited.</summary>
public sealed record ProviderLimits(int? RequestsPerMinute = null, long? TokensPerMinute = null, int? MaxConcurrency = null)
{
    /// <summary>No limits.</summary>
    public static ProviderLimits Unlimited { get; } = new();
}
