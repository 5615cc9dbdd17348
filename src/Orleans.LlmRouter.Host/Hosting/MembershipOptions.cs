namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Overrides of Orleans' failure detection (<c>LlmRouter:Membership:*</c>) over the preset that
/// <see cref="LlmRouterClusterOptions.FastMembership"/> selects; unset values keep the preset's (<see cref="MembershipSettings"/>).
/// </summary>
internal sealed class MembershipOptions
{
    /// <summary>Probe period (duration).</summary>
    public string? ProbeTimeout { get; set; }

    /// <summary>Missed probes before a silo votes a peer dead (positive).</summary>
    public int? NumMissedProbesLimit { get; set; }

    /// <summary>Votes that declare a silo dead (positive).</summary>
    public int? NumVotesForDeathDeclaration { get; set; }

    /// <summary>How often the membership table is re-read (duration).</summary>
    public string? TableRefreshTimeout { get; set; }

    /// <summary>How often a silo writes its I-am-alive row (duration).</summary>
    public string? IAmAliveTablePublishTimeout { get; set; }

    internal MembershipSettings Over(MembershipSettings preset) => new(
        LlmRouterClusterOptions.Duration(ProbeTimeout) ?? preset.ProbeTimeout,
        NumMissedProbesLimit ?? preset.NumMissedProbesLimit,
        NumVotesForDeathDeclaration ?? preset.NumVotesForDeathDeclaration,
        LlmRouterClusterOptions.Duration(TableRefreshTimeout) ?? preset.TableRefreshTimeout,
        LlmRouterClusterOptions.Duration(IAmAliveTablePublishTimeout) ?? preset.IAmAliveTablePublishTimeout);
}
