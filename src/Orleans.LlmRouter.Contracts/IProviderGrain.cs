namespace Orleans.LlmRouter.Contracts;

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
