using Orleans.Concurrency;

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

/// <summary>
/// What a silo needs to admit calls locally: breaker state, pause, enablement (versioned: a change bumps
/// <see cref="Version"/>), and the load figures deployments are balanced by (as of the snapshot, no version bump).
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderSnapshot")]
public sealed record ProviderSnapshot(
    [property: Id(0)] string ProviderId,
    [property: Id(1)] ProviderCircuitState State,
    [property: Id(2)] DateTimeOffset? OpenUntil,
    [property: Id(3)] DateTimeOffset? PausedUntil,
    [property: Id(4)] bool Disabled,
    [property: Id(5)] long Version)
{
    /// <summary>Calls in flight cluster-wide, as the silos last reported them.</summary>
    [Id(6)] public int InFlight { get; init; }

    /// <summary>Median latency of the recent successful calls; 0 when none was measured.</summary>
    [Id(7)] public double LatencyP50Ms { get; init; }

    /// <summary>Requests granted (leased) in the current minute.</summary>
    [Id(8)] public long RequestsThisMinute { get; init; }

    /// <summary>Tokens granted or charged in the current minute.</summary>
    [Id(9)] public long TokensThisMinute { get; init; }

    /// <summary>End of the minute the two counts above belong to.</summary>
    [Id(10)] public DateTimeOffset MinuteEnds { get; init; }
}

/// <summary>The result of one upstream request, reported by the silo that made it.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderOutcome")]
public sealed record ProviderOutcome(
    [property: Id(0)] bool Success,
    [property: Id(1)] string? ErrorClass,
    [property: Id(2)] bool CountsAsFailure,
    [property: Id(3)] double LatencyMs,
    [property: Id(4)] bool WasProbe,
    [property: Id(5)] long ExtraTokens,
    [property: Id(6)] TimeSpan? RetryAfter)
{
    /// <summary>Error class of a permit handed back unused (another scope refused the call): a probe is released.</summary>
    public const string NotSent = "not_sent";

    /// <summary>Error class of a call its caller cancelled before an answer: no verdict on the provider; a probe is released.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>Rate-limit capacity leased to one silo until <see cref="ExpiresAt"/> (the end of the current minute).</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RateLease")]
public sealed record RateLease(
    [property: Id(0)] int Requests,
    [property: Id(1)] long Tokens,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] ProviderSnapshot Snapshot);

/// <summary>Health of a provider: breaker, counts, latency, current limit usage.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ProviderHealth")]
public sealed record ProviderHealth(
    [property: Id(0)] string ProviderId,
    [property: Id(1)] ProviderCircuitState State,
    [property: Id(2)] bool Disabled,
    [property: Id(3)] DateTimeOffset? OpenUntil,
    [property: Id(4)] DateTimeOffset? PausedUntil,
    [property: Id(5)] long Successes,
    [property: Id(6)] long Failures,
    [property: Id(7)] DateTimeOffset? LastFailureAt,
    [property: Id(8)] string? LastFailureClass,
    [property: Id(9)] double LatencyP50Ms,
    [property: Id(10)] double LatencyP95Ms,
    [property: Id(11)] long RequestsThisMinute,
    [property: Id(12)] long TokensThisMinute,
    [property: Id(13)] int ConcurrencySlotsLeased);

/// <summary>A silo's listener for provider state changes, pushed by the provider grain.</summary>
[Alias("llmrouter.IProviderObserver")]
public interface IProviderObserver : IGrainObserver
{
    /// <summary>Receives the provider's new state after a change (one-way: the grain does not wait for the silo).</summary>
    [Alias("snapshot"), OneWay]
    Task OnSnapshot(ProviderSnapshot snapshot);
}

/// <summary>
/// One per provider (key: provider id). Owns the cluster-wide circuit breaker, the rpm/tpm/concurrency budget
/// (leased to silos in small chunks), the Retry-After pause and enablement. Silos admit calls from a local snapshot;
/// they call this grain only to renew leases, report outcomes, or ask for the single half-open probe.
/// </summary>
[Alias("llmrouter.IProviderGrain")]
public interface IProviderGrain : IGrainWithStringKey
{
    /// <summary>Returns the current admission state (breaker, pause, enablement) without changing it.</summary>
    [Alias("get-snapshot")]
    Task<ProviderSnapshot> GetSnapshotAsync();

    /// <summary>Records outcomes (a batch from one silo); returns the state after them.</summary>
    [Alias("report")]
    Task<ProviderSnapshot> ReportAsync(IReadOnlyList<ProviderOutcome> outcomes);

    /// <summary>Leases up to the asked requests and tokens from this minute's budget.</summary>
    [Alias("lease")]
    Task<RateLease> LeaseAsync(int requests, long tokens);

    /// <summary>
    /// Leases up to <paramref name="count"/> concurrency slots to <paramref name="holder"/> (one id per silo gate); returns how
    /// many were granted. A holder's slots expire unless it renews them (<see cref="RenewSlotsAsync"/>), so the slots of a
    /// silo that died come back by themselves.
    /// </summary>
    [Alias("acquire-slots")]
    Task<int> AcquireSlotsAsync(string holder, int count);

    /// <summary>
    /// Tells how many calls <paramref name="holder"/> (one id per silo gate) has in flight now; returns the state with
    /// the cluster-wide sum. A holder's count expires unless it is reported again, so a dead silo's calls stop counting.
    /// </summary>
    [Alias("report-in-flight")]
    Task<ProviderSnapshot> ReportInFlightAsync(string holder, int inFlight);

    /// <summary>Gives back <paramref name="count"/> concurrency slots that <paramref name="holder"/> no longer needs.</summary>
    [Alias("release-slots")]
    Task ReleaseSlotsAsync(string holder, int count);

    /// <summary>Renews the lease of the <paramref name="held"/> slots <paramref name="holder"/> still holds.</summary>
    [Alias("renew-slots")]
    Task RenewSlotsAsync(string holder, int held);

    /// <summary>Asks for the single cluster-wide half-open probe; true for exactly one caller.</summary>
    [Alias("try-probe")]
    Task<bool> TryBeginProbeAsync();

    /// <summary>Returns the breaker state, success and failure counts, latency percentiles and this minute's limit usage.</summary>
    [Alias("health")]
    Task<ProviderHealth> GetHealthAsync();

    /// <summary>Disables or re-enables the provider at run time, for the whole cluster.</summary>
    [Alias("set-enabled")]
    Task<ProviderSnapshot> SetEnabledAsync(bool enabled);

    /// <summary>Subscribes a silo for pushed snapshots (renew at least every minute).</summary>
    [Alias("subscribe")]
    Task<ProviderSnapshot> SubscribeAsync(IProviderObserver observer);
}
