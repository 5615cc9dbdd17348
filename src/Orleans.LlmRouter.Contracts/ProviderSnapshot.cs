namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// What a silo needs to admit calls locally: breaker state, pause, enablement, and the load figures deployments are
/// balanced by. <see cref="Version"/> grows with every snapshot the provider grain builds, so a silo keeps the newest.
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
