using Orleans.Concurrency;

namespace Orleans.LlmRouter.Contracts;

/// <summary>A silo's listener for tenant registry changes.</summary>
[Alias("llmrouter.ITenantRegistryObserver")]
public interface ITenantRegistryObserver : IGrainObserver
{
    /// <summary>Receives the registry's new snapshot after a change (one-way: the grain does not wait for the silo).</summary>
    [Alias("changed"), OneWay]
    Task OnChanged(TenantRegistrySnapshot snapshot);
}
