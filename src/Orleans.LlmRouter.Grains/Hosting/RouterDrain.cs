using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Grains.Routing;

namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>
/// A stopping silo finishes its router calls before it leaves. Orleans stops a silo stage by stage: at <c>Active</c>
/// its gateway tells the clients (separate front ends) to send to other gateways — after which the next item of a
/// stream in progress through it would go to another silo, which does not know the stream — at <c>BecomeActive</c> it
/// turns <c>ShuttingDown</c> in membership, then its grains deactivate (budget counters are written) and the ledger
/// drains. This participant stops first (stage <c>Active + 1</c>): the router refuses new calls from then on
/// (<see cref="SiloDrainingException"/>, before anything is done for them, so the front end sends them to another
/// silo), and it waits until the calls and streams already running finish, bounded by
/// <see cref="RouterDrainOptions.InFlightTimeout"/>, with the gateway, the budget and provider grains and the ledger all
/// still up. A call still running at the bound goes on into the rest of the stop, which may cut it.
/// </summary>
internal sealed partial class RouterDrain(RouterServices services, IOptions<RouterDrainOptions> options, RouterClock clock, ILogger<RouterDrain> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RouterDrain), ServiceLifecycleStage.Active + 1, _ => Task.CompletedTask, StopAsync);

    /// <summary>Waits for the router calls in flight (internal for tests).</summary>
    internal async Task StopAsync(CancellationToken cancellationToken)
    {
        var time = clock.Time;
        services.InFlight.StartDraining();
        var running = services.InFlight.Count;
        if (running == 0)
        {
            return;
        }

        LogWaiting(logger, running, options.Value.InFlightTimeout.TotalSeconds);
        var started = time.GetTimestamp();
        while (services.InFlight.Count > 0 && time.GetElapsedTime(started) < options.Value.InFlightTimeout && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Poll, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var left = services.InFlight.Count;
        if (left == 0)
        {
            var seconds = time.GetElapsedTime(started).TotalSeconds;
            LogDrained(logger, running, seconds);
        }
        else
        {
            LogCut(logger, left);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting up to {Seconds} s for {Count} router call(s) in flight on this silo")]
    private static partial void LogWaiting(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: the {Count} router call(s) in flight finished within {Seconds:0.0} s")]
    private static partial void LogDrained(ILogger logger, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: {Count} router call(s) still running at the drain bound; deactivation cuts them (their callers get 503 with Retry-After)")]
    private static partial void LogCut(ILogger logger, int count);
}

/// <summary>How long a stopping silo waits for its router calls in flight (<see cref="RouterDrain"/>).</summary>
internal sealed class RouterDrainOptions
{
    /// <summary>Default 15 s; the gateway host sets half of <c>LlmRouter:ShutdownTimeoutSeconds</c>.</summary>
    public TimeSpan InFlightTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
