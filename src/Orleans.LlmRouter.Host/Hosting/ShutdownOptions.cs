namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// How a graceful stop (SIGTERM, Ctrl+C) goes. First <c>/readyz</c> answers 503 <c>draining</c> while the process keeps
/// serving for <c>LlmRouter:DrainDelaySeconds</c> (default 0; the Helm chart sets 5), so a load balancer or a Kubernetes
/// Service stops sending it new requests before it stops listening. Then the stop proper, bounded by
/// <c>LlmRouter:ShutdownTimeoutSeconds</c> (default 30).
/// Within it Kestrel stops taking requests and drains the ones in flight, the silo deactivates its grains (budget
/// counters flush) and leaves membership, and the ledger drains its queue; calls still running when it expires are
/// cancelled. Whatever still runs <see cref="ExitMargin"/> after the bound (a runaway turn that never yields) does not
/// keep the process alive: it exits with code 3.
/// </summary>
internal sealed class ShutdownOptions
{
    /// <summary>The bound, in seconds (1 to 3600).</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds between the stop request and the stop proper, unready but still serving (0 to 300; default 0).</summary>
    public int DrainDelaySeconds { get; set; }

    /// <summary>The delay before the stop proper.</summary>
    public TimeSpan DrainDelay => TimeSpan.FromSeconds(DrainDelaySeconds);

    /// <summary>How long after the bound the process exits even if stopping has not finished.</summary>
    public static TimeSpan ExitMargin { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The bound.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(ShutdownTimeoutSeconds);

    /// <summary>
    /// A stopping silo waits up to half the bound for the router calls in flight on it to finish (before its grains
    /// deactivate, so they settle and are recorded normally).
    /// </summary>
    public TimeSpan InFlightTimeout => TimeSpan.FromSeconds(ShutdownTimeoutSeconds / 2.0);

    /// <summary>Grains get a third of the bound to deactivate (Orleans' default is longer than our whole bound).</summary>
    public TimeSpan DeactivationTimeout => TimeSpan.FromSeconds(Math.Max(1, ShutdownTimeoutSeconds / 3.0));

    /// <summary>Binds <c>LlmRouter:ShutdownTimeoutSeconds</c> and validates it (1 to 3600), eagerly: the host's own timeout needs it.</summary>
    internal static ShutdownOptions Read(IConfiguration config) => SettingsBinder.Bind(config, Validator.Instance);

    private sealed class Validator : Microsoft.Extensions.Options.IValidateOptions<ShutdownOptions>
    {
        public static Validator Instance { get; } = new();

        public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ShutdownOptions options)
        {
            var failures = new List<string>();
            if (options.ShutdownTimeoutSeconds is < 1 or > 3600)
            {
                failures.Add($"LlmRouter:ShutdownTimeoutSeconds must be a whole number of seconds from 1 to 3600, not '{options.ShutdownTimeoutSeconds}'.");
            }

            if (options.DrainDelaySeconds is < 0 or > 300)
            {
                failures.Add($"LlmRouter:DrainDelaySeconds must be a whole number of seconds from 0 to 300, not '{options.DrainDelaySeconds}'.");
            }

            return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
        }
    }
}
