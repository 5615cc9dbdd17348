namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>A provider endpoint. The API key is read from <see cref="ApiKeyEnv"/>, never from YAML.</summary>
public sealed record ProviderDefinition(
    string Id,
    string Type,
    string? BaseUrl,
    string? ApiKeyEnv,
    TimeSpan Timeout,
    int Priority,
    bool Enabled,
    ProviderLimits Limits,
    BreakerSettings Breaker,
    RetrySettings Retry,
    IReadOnlyDictionary<string, string> Options,
    SourceLocation Location)
{
    /// <summary>Why the provider is disabled, when it is (e.g. its key variable is unset).</summary>
    public string? DisabledReason { get; init; }

    /// <summary>When set, the provider grain probes the provider on this interval and feeds the breaker.</summary>
    public TimeSpan? HealthCheckInterval { get; init; }

    /// <summary>
    /// The longest a stream may stay silent once its headers arrived, between chunks (<c>stream_idle_timeout_seconds</c>);
    /// past it the adapter aborts the upstream request and fails with a timeout.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; init; } = DefaultStreamIdleTimeout;

    /// <summary>The idle timeout of a stream when the provider sets none: 60 s.</summary>
    public static TimeSpan DefaultStreamIdleTimeout { get; } = TimeSpan.FromSeconds(60);
}
