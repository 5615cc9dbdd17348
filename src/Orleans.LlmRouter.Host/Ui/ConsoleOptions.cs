namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The admin console at <c>/ui</c> (settings <c>LlmRouter:Console:*</c>): on by default in the embedded, co-hosted and
/// front-end roles; <see cref="Dashboard"/> mounts the Orleans dashboard at <c>/ui/cluster/</c> (every silo then runs
/// the dashboard's grain-call profiler, so a cluster's silos and its front end must agree on it).
/// </summary>
internal sealed record ConsoleOptions(bool Enabled, bool Dashboard, TimeSpan SessionLifetime)
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

        return new(section.GetValue<bool?>("Enabled") ?? true, section.GetValue<bool?>("Dashboard") ?? true, TimeSpan.FromMinutes(minutes));
    }
}
