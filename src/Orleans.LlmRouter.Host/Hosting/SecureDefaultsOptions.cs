namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// What a gateway refuses outside the embedded mode (durable storage, PostgreSQL clustering, or the silo and front-end
/// roles): the admin key hash and the dev tenant key hashes that ship in the repository (their keys are public), and
/// the <c>simulated</c> provider, whose answers are fabricated but priced. Settings (section <c>LlmRouter</c>):
/// <c>AllowDevKeys</c> (insecure: accept the shipped keys, for local clusters and tests only) and <c>AllowSimulated</c>.
/// The embedded default (one silo, in memory) keeps both, with no setting, as a first run needs.
/// </summary>
internal sealed class SecureDefaultsOptions
{
    /// <summary>INSECURE: accept the shipped dev admin and tenant keys outside the embedded mode. Default false.</summary>
    public bool AllowDevKeys { get; set; }

    /// <summary>Keep the <c>simulated</c> provider enabled outside the embedded mode. Default false.</summary>
    public bool AllowSimulated { get; set; }
}
