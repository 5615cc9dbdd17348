using Orleans.Configuration;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>
/// How the router retries a call to another grain (budget, provider, registry) that failed because the silo holding it
/// was lost. Such a call fails in one of two ways (Orleans 10): at once with a rejection while the dead silo is not yet
/// declared dead (its connection is refused; the directory still points at it, so retrying at once fails the same way),
/// or with <see cref="SiloUnavailableException"/> once membership declares it dead and breaks the calls pending to it
/// (<c>SiloConnectionMaintainer</c> → <c>InsideRuntimeClient.BreakOutstandingMessagesToSilo</c>). From then on the next call
/// activates the grain on a living silo. So a retry is worth it for about the failure-detection time, no longer.
/// </summary>
/// <param name="Budget">How long after the first failure retries may go on (failure detection plus a margin).</param>
/// <param name="FirstDelay">The wait before the first retry; it doubles each time, capped at one second.</param>
public sealed record GrainCallRetry(TimeSpan Budget, TimeSpan FirstDelay)
{
    /// <summary>
    /// From the silo's membership settings: missed probes × probe timeout, one more probe period for the vote, and
    /// two seconds of margin (the directory and the new activation).
    /// </summary>
    public static GrainCallRetry From(ClusterMembershipOptions membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        return new GrainCallRetry(membership.ProbeTimeout * (membership.NumMissedProbesLimit + 1) + TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(200));
    }
}

/// <summary>Helpers for grain calls that must survive the loss of the silo holding their target.</summary>
public static class GrainCalls
{
    /// <summary>
    /// True when <paramref name="ex"/> says the call did not complete on a living activation: the target silo died or
    /// could not be reached, or the message was rejected before the grain ran it. For an operation whose effect lives
    /// only in the dead activation's memory (a budget reservation, a provider permit), the effect is gone with it and
    /// repeating the call is safe; an operation that may have written durably first (a settle that appended the ledger
    /// row) must be idempotent by its request id to be repeated.
    /// </summary>
    public static bool IsSiloLoss(Exception ex) =>
        ex is OrleansMessageRejectionException // SiloUnavailableException derives from it
            or Orleans.Runtime.Messaging.ConnectionFailedException;

    /// <summary>
    /// Runs <paramref name="call"/>; when it fails with <see cref="IsSiloLoss"/>, waits (doubling from
    /// <see cref="GrainCallRetry.FirstDelay"/>, at most a second) and runs it again, until it succeeds, fails otherwise,
    /// or <see cref="GrainCallRetry.Budget"/> has passed since the first failure (then the last failure is thrown, for the
    /// caller to answer 503). Cancellation stops the waiting.
    /// </summary>
    public static async Task<T> RetryOnSiloLossAsync<T>(Func<Task<T>> call, GrainCallRetry retry, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(retry);
        ArgumentNullException.ThrowIfNull(time);
        long? firstFailure = null;
        var delay = retry.FirstDelay;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (IsSiloLoss(ex))
            {
                firstFailure ??= time.GetTimestamp();
                if (time.GetElapsedTime(firstFailure.Value) + delay > retry.Budget)
                {
                    throw;
                }
            }

            await Task.Delay(delay, time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
        }
    }

    /// <inheritdoc cref="RetryOnSiloLossAsync{T}(Func{Task{T}}, GrainCallRetry, TimeProvider, CancellationToken)"/>
    public static Task RetryOnSiloLossAsync(Func<Task> call, GrainCallRetry retry, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        return RetryOnSiloLossAsync(async () =>
        {
            await call();
            return true;
        }, retry, time, cancellationToken);
    }
}
