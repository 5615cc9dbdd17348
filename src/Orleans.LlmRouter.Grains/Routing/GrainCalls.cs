using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// Bounded calls to the cluster's own grains. Each try gives up after <see cref="RouterOptions.GrainCallTimeout"/>; a
/// try that failed because the target's silo is gone (or did not answer) is repeated until
/// <see cref="RouterOptions.GrainRetryDeadline"/>, then the call fails with <see cref="ClusterUnavailableException"/>.
/// Only for calls that are safe to repeat: reservations are leases (an orphan expires), settles are idempotent by
/// request id, releases and renewals are idempotent.
/// </summary>
internal sealed class GrainCalls(RouterOptions options, TimeProvider time)
{
    public async Task<T> RetryAsync<T>(Func<Task<T>> call, string what)
    {
        var deadline = time.GetUtcNow() + options.GrainRetryDeadline;
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return await call().WaitAsync(options.GrainCallTimeout, time);
            }
            catch (Exception ex) when (IsClusterFault(ex))
            {
                if (time.GetUtcNow() + delay >= deadline)
                {
                    throw new ClusterUnavailableException($"The cluster could not {what} in time ({ex.GetType().Name}); retry shortly.", ex)
                    {
                        RetryAfterSeconds = 2,
                    };
                }

                await Task.Delay(delay, time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    public Task RetryAsync(Func<Task> call, string what) =>
        RetryAsync(async () => { await call(); return true; }, what);

    /// <summary>One bounded try; a fault is swallowed (for best-effort work that has its own expiry).</summary>
    public async Task<bool> TryOnceAsync(Func<Task> call)
    {
        try
        {
            await call().WaitAsync(options.GrainCallTimeout, time);
            return true;
        }
        catch (Exception ex) when (IsClusterFault(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// Failures that say the target's silo is gone or unreachable, or that the activation reached was replaced by a newer
    /// one (<see cref="BudgetGrainReplacedException"/>), not that the call itself was refused.
    /// </summary>
    public static bool IsClusterFault(Exception ex) => ex is TimeoutException or SiloUnavailableException
        or OrleansMessageRejectionException or ClientNotAvailableException or BudgetGrainReplacedException
        || (ex is OrleansException && ex.GetType().Name.Contains("Connection", StringComparison.Ordinal));
}
