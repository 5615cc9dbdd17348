using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Holds one adapter per configured provider, built by the factory of its type.</summary>
internal sealed class ProviderRegistry
{
    private readonly Dictionary<string, IChatProvider> _providers;
    private readonly Dictionary<string, TokenizerFamily?> _families;

    /// <summary>Builds the adapters of <paramref name="catalog"/>'s providers.</summary>
    /// <param name="catalog">The providers to build adapters for (those without a factory of their type get none).</param>
    /// <param name="factories">One factory per registered provider type.</param>
    /// <param name="types">The registered types' descriptors (tokenizer family per type).</param>
    public ProviderRegistry(ModelCatalog catalog, IEnumerable<IChatProviderFactory> factories, IEnumerable<ProviderTypeDescriptor>? types = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _families = (types ?? []).GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().TokenizerFamily, StringComparer.Ordinal);
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

    /// <summary>The tokenizer family a provider type fixes for all its models, or null (the model id decides).</summary>
    public TokenizerFamily? TokenizerFamilyOf(string providerType) => _families.GetValueOrDefault(providerType);

    public IChatProvider Get(string providerId) =>
        _providers.TryGetValue(providerId, out var p) ? p : throw new KeyNotFoundException($"No adapter for provider '{providerId}'.");
}
