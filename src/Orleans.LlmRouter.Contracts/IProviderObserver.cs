using Orleans.Concurrency;

namespace Orleans.LlmRouter.Contracts;

/// <summary>A silo's listener for provider state changes, pushed by the provider grain.</summary>
[Alias("llmrouter.IProviderObserver")]
public interface IProviderObserver : IGrainObserver
{
    /// <summary>Receives the provider's new state after a change (one-way: the grain does not wait for the silo).</summary>
    [Alias("snapshot"), OneWay]
    Task OnSnapshot(ProviderSnapshot snapshot);

    /// <summary>
    /// A silo asked the scope <paramref name="scopeId"/> for concurrency slots and none was left to lease: a holder
    /// with idle slots gives them back now, so no call is refused while a slot sits unused (one-way).
    /// </summary>
    [Alias("slots-wanted"), OneWay]
    Task OnSlotsWanted(string scopeId);
}
