namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>What a gateway process runs.</summary>
internal enum GatewayRole
{
    /// <summary>A silo co-hosting the HTTP front end (the default).</summary>
    All,

    /// <summary>A silo only (HTTP serves /healthz and /readyz).</summary>
    Silo,

    /// <summary>The HTTP front end only, reaching the silos as an Orleans client.</summary>
    FrontEnd,
}
