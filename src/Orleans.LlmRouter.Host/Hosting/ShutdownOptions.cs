using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// How long a graceful stop (SIGTERM, Ctrl+C) may take: setting <c>LlmRouter:ShutdownTimeoutSeconds</c> (default 30).
/// Within it Kestrel stops taking requests and drains the ones in flight, the silo deactivates its grains (budget
/// counters flush) and leaves membership, and the ledger drains its queue; calls still running when it expires are
/// cancelled. Whatever still runs <see cref="ExitMargin"/> after the bound (a runaway turn that never yields) does not
/// keep the process alive: it exits with code 3.
/// </summary>
public sealed class ShutdownOptions
{
    /// <summary>The bound, in seconds (1 to 3600).</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>How long after the bound the process exits even if stopping has not finished.</summary>
    public static TimeSpan ExitMargin { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The bound.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(ShutdownTimeoutSeconds);

    /// <summary>Grains get a third of the bound to deactivate (Orleans' default is longer than our whole bound).</summary>
    public TimeSpan DeactivationTimeout => TimeSpan.FromSeconds(Math.Max(1, ShutdownTimeoutSeconds / 3.0));

    internal static ShutdownOptions Read(IConfiguration config)
    {
        var options = new ShutdownOptions();
        if (config["LlmRouter:ShutdownTimeoutSeconds"] is { Length: > 0 } text)
        {
            if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > 3600)
            {
                throw new ConfigurationException([new ConfigError(new SourceLocation("LlmRouter:ShutdownTimeoutSeconds", 0, 0), $"must be a whole number of seconds from 1 to 3600, not '{text}'")]);
            }

            options.ShutdownTimeoutSeconds = seconds;
        }

        return options;
    }
}
