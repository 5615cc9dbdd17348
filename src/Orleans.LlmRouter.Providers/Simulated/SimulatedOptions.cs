using System.Globalization;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Simulated;

/// <summary>
/// Options of a <c>simulated</c> provider, read from its YAML <c>options</c>:
/// <c>latency_ms</c> (non-streaming), <c>time_to_first_token_ms</c>, <c>chunk_delay_ms</c>,
/// <c>failure_rate</c> (0–1, share of calls that fail), <c>failure_kind</c> (rate_limit, server, timeout, overloaded),
/// <c>retry_after_seconds</c> (sent with injected rate limits), <c>seed</c> (for the failure dice).
/// </summary>
internal sealed record SimulatedOptions(
    TimeSpan Latency,
    TimeSpan TimeToFirstToken,
    TimeSpan ChunkDelay,
    double FailureRate,
    string FailureKind,
    TimeSpan? RetryAfter,
    int Seed)
{
    public static SimulatedOptions From(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var o = provider.Options;
        return new SimulatedOptions(
            Ms(o, "latency_ms", 0),
            Ms(o, "time_to_first_token_ms", 0),
            Ms(o, "chunk_delay_ms", 0),
            o.TryGetValue("failure_rate", out var r) ? Math.Clamp(double.Parse(r, CultureInfo.InvariantCulture), 0, 1) : 0,
            o.TryGetValue("failure_kind", out var k) ? k : "server",
            o.TryGetValue("retry_after_seconds", out var ra) ? TimeSpan.FromSeconds(double.Parse(ra, CultureInfo.InvariantCulture)) : null,
            o.TryGetValue("seed", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 42);
    }

    private static TimeSpan Ms(IReadOnlyDictionary<string, string> o, string key, double fallback) =>
        TimeSpan.FromMilliseconds(o.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback);
}
