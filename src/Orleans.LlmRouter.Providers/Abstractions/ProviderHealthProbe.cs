namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Result of a cheap health probe.</summary>
public sealed record ProviderHealthProbe(bool Healthy, string? Detail, TimeSpan Latency);
