namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>Who may read <c>/metrics</c>.</summary>
internal enum MetricsAccess
{
    /// <summary>Callers with the admin key (<c>Authorization: Bearer</c>); the default.</summary>
    Admin,

    /// <summary>Anyone who can reach it: restrict it by network (a management port, see <see cref="MetricsEndpointOptions.Port"/>).</summary>
    Network,
}
