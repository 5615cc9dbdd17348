namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// The gateway's own settings, section <c>LlmRouter</c> (appsettings, environment <c>LlmRouter__*</c>, command line
/// <c>--LlmRouter:Name=value</c>). Storage and clustering are <see cref="LlmRouterStorageOptions"/> and
/// <see cref="LlmRouterClusterOptions"/>, bound from the same section (the keys are flat: <c>LlmRouter:Storage</c>,
/// <c>LlmRouter:SiloPort</c>). Validated at start-up by <see cref="LlmRouterOptionsValidator"/>: a bad value stops the
/// gateway with exit code 2. deploy/README.md documents every property (a test keeps it so).
/// </summary>
internal sealed class LlmRouterOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmRouter";

    /// <summary>The <c>config/</c> directory or file (YAML); default: found next to the binary or above it.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>What this process runs: <c>all</c> (silo and HTTP, the default), <c>silo</c> or <c>frontend</c>.</summary>
    public string Role { get; set; } = "all";

    /// <summary><c>sha256:&lt;hex&gt;</c> of the admin key guarding <c>/api/v1</c>; unset closes the admin API.</summary>
    public string? AdminKeyHash { get; set; }

    /// <summary>The parsed <see cref="Role"/> (valid after validation).</summary>
    internal GatewayRole ParsedRole =>
        Enum.TryParse<GatewayRole>(Role.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var role) && Enum.IsDefined(role) ? role : throw new InvalidOperationException($"LlmRouter:Role must be 'all' (silo and HTTP), 'silo' or 'frontend', not '{Role}'.");
}
