using Orleans.LlmRouter.Core.Catalog;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>Once the silo is active, fetches and subscribes to every enabled provider's state.</summary>
internal sealed class ProviderGateWarmUp(ProviderGate gate, ModelCatalog catalog) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ProviderGateWarmUp), ServiceLifecycleStage.Active, _ => gate.WarmUpAsync(catalog.Providers.Values));
}
