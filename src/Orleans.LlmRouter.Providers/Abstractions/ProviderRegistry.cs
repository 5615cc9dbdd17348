using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Holds one adapter per configured provider, built by the factory of its type.</summary>
internal sealed class ProviderRegistry
{
    private readonly Dictionary<string, IChatProvider> _providers;

    public ProviderRegistry(ModelCatalog catalog, IEnumerable<IChatProviderFactory> factories)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var byType = factories.ToDictionary(f => f.Type, StringComparer.Ordinal);
        _providers = new(StringComparer.Ordinal);
        foreach (var provider in catalog.Providers.Values)
        {
            if (byType.TryGetValue(provider.Type, out var factory))
            {
                _providers[provider.Id] = factory.Create(provider);
            }
        }
    }

    /// <summary>The types that have a registered factory (for configuration validation).</summary>
    public static IReadOnlySet<string> TypesOf(IEnumerable<IChatProviderFactory> factories) =>
        factories.Select(f => f.Type).ToHashSet(StringComparer.Ordinal);

    public IChatProvider Get(string providerId) =>
        _providers.TryGetValue(providerId, out var p) ? p : throw new KeyNotFoundException($"No adapter for provider '{providerId}'.");
}
