using Orleans.Concurrency;

namespace Orleans.LlmRouter.Contracts;

/// <summary>A silo's listener for provider state changes, pushed by the provider grain.</summary>
[Alias("llmrouter.IProviderObserver")]
public interface IProviderObserver : IGrainObserver
{
    /// <summary>Receives the provider's new state after a change (one-way: the grain does not wait for the silo).</summary>
    [Alias("snapshot"), OneWay]
    Task OnSnapshot(ProviderSnapshot snapshot);
}
