using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// Once the silo is active, fetches and subscribes to every enabled provider's state and to every deployment's (so a
/// silo balances deployments, and honours their breakers and pauses, from its first call).
/// </summary>
internal sealed class ProviderGateWarmUp(ProviderGate gate, ModelCatalog catalog) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ProviderGateWarmUp), ServiceLifecycleStage.Active, _ => gate.WarmUpAsync(catalog.Providers.Values.Concat(DeploymentScopes())));

    private IEnumerable<ProviderDefinition> DeploymentScopes() =>
        from model in catalog.Models.Values
        from view in catalog.DeploymentsOf(model)
        let host = catalog.ProviderOf(view)
        where host.Enabled
        select ModelScopes.For(host, view)!;
}
