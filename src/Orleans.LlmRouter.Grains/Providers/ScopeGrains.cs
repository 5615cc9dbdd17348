using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// Calls from one silo's gate to the provider-scope grains (a provider, a model with its own limits, a deployment), each
/// bounded by the router's grain-call timeout: a grain whose silo died answers nothing until membership declares the
/// silo dead, and the gate does not wait on it longer. What such a call may have granted meanwhile expires at the
/// grain (slot leases are renewed only for the slots the gate knows; probes are re-granted after the break time).
/// </summary>
internal sealed class ScopeGrains(IGrainFactory grains, TimeSpan timeout, TimeProvider time)
{
    /// <summary>This silo's identity as a holder of concurrency slots and a reporter of calls in flight.</summary>
    public string Holder { get; } = Guid.NewGuid().ToString("N");

    public Task<T> CallAsync<T>(string scopeId, Func<IProviderGrain, Task<T>> call) =>
        call(grains.GetProviderScope(scopeId)).WaitAsync(timeout, time);

    public Task CallAsync(string scopeId, Func<IProviderGrain, Task> call) =>
        call(grains.GetProviderScope(scopeId)).WaitAsync(timeout, time);
}
