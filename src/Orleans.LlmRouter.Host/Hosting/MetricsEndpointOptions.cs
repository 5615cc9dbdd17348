using Orleans.LlmRouter.Configuration;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// The Prometheus endpoint: <c>LlmRouter:Metrics:Enabled</c> (default true), <c>:Path</c> (default <c>/metrics</c>),
/// <c>:Access</c> (<c>admin</c>, the default, or <c>network</c>), <c>:Port</c> (serve it only on this port, which the
/// host must also listen on through <c>urls</c>).
/// </summary>
internal sealed record MetricsEndpointOptions(bool Enabled, string Path, MetricsAccess Access, int? Port)
{
    /// <summary>Reads the settings.</summary>
    public static MetricsEndpointOptions Read(IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetSection("LlmRouter:Metrics");
        var enabled = !bool.TryParse(section["Enabled"], out var e) || e;
        var path = section["Path"] is { Length: > 0 } p ? p : "/metrics";
        var access = section["Access"] is { Length: > 0 } a
            ? Enum.TryParse<MetricsAccess>(a, ignoreCase: true, out var parsed) ? parsed : throw new ConfigurationException($"LlmRouter:Metrics:Access must be 'admin' or 'network', not '{a}'.")
            : MetricsAccess.Admin;
        int? port = int.TryParse(section["Port"], out var n) ? n : null;
        return new MetricsEndpointOptions(enabled, path, access, port);
    }
}
