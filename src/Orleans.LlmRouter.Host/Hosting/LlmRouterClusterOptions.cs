using System.Globalization;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Clustering, section <c>LlmRouter</c> (as Orleans' <c>ClusterOptions</c>, plus ports and failure detection):
/// localhost clustering for one machine, or a PostgreSQL membership table so several silos form one cluster.
/// Durations are seconds (<c>5</c>, <c>0.5</c>) or <c>hh:mm:ss</c>.
/// </summary>
internal sealed class LlmRouterClusterOptions
{
    /// <summary><c>localhost</c> (default) or <c>postgres</c> (membership on <c>LlmRouter:Postgres</c>).</summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>The silo-to-silo port (default 11111).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The Orleans gateway port clients and front ends connect to (default 30000).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Orleans cluster id (default <c>llmrouter-dev</c>).</summary>
    public string ClusterId { get; set; } = "llmrouter-dev";

    /// <summary>Orleans service id (default <c>llmrouter</c>); grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "llmrouter";

    /// <summary>The host name this silo advertises with PostgreSQL clustering (containers); default loopback.</summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>Fast failure detection for local clusters and tests (<see cref="MembershipSettings.Fast"/>).</summary>
    public bool FastMembership { get; set; }

    /// <summary>
    /// Orleans' Kubernetes hosting (<c>Microsoft.Orleans.Hosting.Kubernetes</c>) on a silo in a Kubernetes pod: the silo
    /// names itself after the pod and advertises the pod IP (<c>POD_NAME</c>, <c>POD_NAMESPACE</c>, <c>POD_IP</c> from the
    /// downward API), and a silo whose pod is gone is declared dead at once. Membership stays on PostgreSQL, so it needs
    /// <c>LlmRouter:Clustering=postgres</c>. The Helm chart sets it; default off.
    /// </summary>
    public bool KubernetesHosting { get; set; }

    /// <summary>How often a separate front end re-reads the gateway list (default 5 s).</summary>
    public string? GatewayListRefreshPeriod { get; set; }

    /// <summary>Response timeout of grain calls without their own (default 30 s).</summary>
    public string? ResponseTimeout { get; set; }

    /// <summary>Failure detection over the preset (<c>LlmRouter:Membership:*</c>).</summary>
    public MembershipOptions Membership { get; set; } = new();

    internal bool PostgresClustering => Clustering.Equals("postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>A duration setting: seconds or a TimeSpan; null when unset; false when not a positive duration.</summary>
    internal static bool TryParseDuration(string? text, out TimeSpan? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            value = seconds > 0 && seconds < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
            return value is not null;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            value = span;
            return true;
        }

        return false;
    }

    internal static TimeSpan? Duration(string? text) => TryParseDuration(text, out var value) ? value : throw new InvalidOperationException($"'{text}' is not a positive duration.");
}
