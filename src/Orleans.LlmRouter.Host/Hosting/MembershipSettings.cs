namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Orleans' failure detection (<c>ClusterMembershipOptions</c>), from <c>LlmRouter:Membership:*</c> (<see cref="MembershipOptions"/>) over a preset. Each
/// silo probes its peers every <see cref="ProbeTimeout"/>; after <see cref="NumMissedProbesLimit"/> missed probes it votes
/// the peer dead, and <see cref="NumVotesForDeathDeclaration"/> votes (or all active silos, if fewer) declare it dead in
/// the membership table; gossip tells the others at once, the table refresh (<see cref="TableRefreshTimeout"/>) at the
/// latest. Declared dead, every call pending to it on every silo fails (<c>SiloUnavailableException</c>).
/// </summary>
internal sealed record MembershipSettings(
    TimeSpan ProbeTimeout,
    int NumMissedProbesLimit,
    int NumVotesForDeathDeclaration,
    TimeSpan TableRefreshTimeout,
    TimeSpan IAmAliveTablePublishTimeout)
{
    /// <summary>Orleans' own probe defaults (5 s × 3 misses, 2 votes), with the table re-read every 10 s instead of 60 s.</summary>
    public static MembershipSettings Production { get; } = new(TimeSpan.FromSeconds(5), 3, 2, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    /// <summary>For local clusters and tests that kill silos (<c>LlmRouter:FastMembership=true</c>): 1 s × 2 misses, one vote.</summary>
    public static MembershipSettings Fast { get; } = new(TimeSpan.FromSeconds(1), 2, 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5));

    /// <summary>
    /// About how long after a silo dies the survivors have declared it dead: the missed probes plus a probe period for the
    /// vote and its spread (the documented bound adds a few seconds to this; README, "A lost silo").
    /// </summary>
    public TimeSpan DetectionTime => ProbeTimeout * (NumMissedProbesLimit + 1);
}
