namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The admin console at <c>/ui</c> (settings <c>LlmRouter:Console:*</c>): on by default in the embedded, co-hosted and
/// front-end roles; <see cref="Dashboard"/> mounts the Orleans dashboard at <c>/ui/cluster/</c> (every silo then runs
/// the dashboard's grain-call profiler, so a cluster's silos and its front end must agree on it). Sessions are cookies
/// protected by ASP.NET Core data protection: several front ends (or co-hosting silos) behind one address must share
/// the key ring (<see cref="KeysPath"/>, a shared directory), or a session opened on one is a wrong cookie on another.
/// </summary>
internal sealed record ConsoleOptions(bool Enabled, bool Dashboard, TimeSpan SessionLifetime, string? KeysPath = null)
{
    public const string SectionName = "LlmRouter:Console";

    public static ConsoleOptions Read(IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetSection(SectionName);
        var minutes = section.GetValue<int?>("SessionMinutes") ?? 480;
        if (minutes is < 1 or > 10_080)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(SectionName, typeof(ConsoleOptions), ["LlmRouter:Console:SessionMinutes must be between 1 and 10080."]);
        }

        return new(section.GetValue<bool?>("Enabled") ?? true, section.GetValue<bool?>("Dashboard") ?? true, TimeSpan.FromMinutes(minutes),
            section["KeysPath"] is { Length: > 0 } keys ? keys : null);
    }
}
