namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// How long a graceful stop (SIGTERM, Ctrl+C) may take: setting <c>LlmRouter:ShutdownTimeoutSeconds</c> (default 30).
/// Within it Kestrel stops taking requests and drains the ones in flight, the silo deactivates its grains (budget
/// counters flush) and leaves membership, and the ledger drains its queue; calls still running when it expires are
/// cancelled. Whatever still runs <see cref="ExitMargin"/> after the bound (a runaway turn that never yields) does not
/// keep the process alive: it exits with code 3.
/// </summary>
internal sealed class ShutdownOptions
{
    /// <summary>The bound, in seconds (1 to 3600).</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>How long after the bound the process exits even if stopping has not finished.</summary>
    public static TimeSpan ExitMargin { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The bound.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(ShutdownTimeoutSeconds);

    /// <summary>Grains get a third of the bound to deactivate (Orleans' default is longer than our whole bound).</summary>
    public TimeSpan DeactivationTimeout => TimeSpan.FromSeconds(Math.Max(1, ShutdownTimeoutSeconds / 3.0));

    /// <summary>Binds <c>LlmRouter:ShutdownTimeoutSeconds</c> and validates it (1 to 3600), eagerly: the host's own timeout needs it.</summary>
    internal static ShutdownOptions Read(IConfiguration config) => SettingsBinder.Bind(config, Validator.Instance);

    private sealed class Validator : Microsoft.Extensions.Options.IValidateOptions<ShutdownOptions>
    {
        public static Validator Instance { get; } = new();

        public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ShutdownOptions options) =>
            options.ShutdownTimeoutSeconds is >= 1 and <= 3600
                ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
                : Microsoft.Extensions.Options.ValidateOptionsResult.Fail($"LlmRouter:ShutdownTimeoutSeconds must be a whole number of seconds from 1 to 3600, not '{options.ShutdownTimeoutSeconds}'.");
    }
}
