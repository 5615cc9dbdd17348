using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// Creates adapters of one provider type. A type's factory also implements <see cref="IDescribedChatProviderFactory"/>
/// and is registered with <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>:
/// that is the whole of adding a type.
/// </summary>
public interface IChatProviderFactory
{
    /// <summary>The YAML <c>type</c> this factory serves.</summary>
    string Type { get; }

    /// <summary>Creates the adapter of one provider of this factory's <see cref="Type"/>.</summary>
    IChatProvider Create(ProviderDefinition provider);
}
