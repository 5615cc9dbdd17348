using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Simulated;

/// <summary>Registers the <c>simulated</c> provider type.</summary>
internal sealed class SimulatedProviderFactory(TimeProvider time) : IDescribedChatProviderFactory
{
    /// <summary>The <c>simulated</c> type.</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.Simulated);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider) => new SimulatedChatProvider(provider, time);
}
