namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// A provider factory that describes its type statically, so the type is known before any container is built (the
/// catalog is validated against the registered types at start-up). Implement it and register the factory with
/// <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>: that is the whole of
/// adding a provider type.
/// </summary>
public interface IDescribedChatProviderFactory : IChatProviderFactory
{
    /// <summary>The type this factory serves; its <see cref="ProviderTypeDescriptor.Name"/> equals <see cref="IChatProviderFactory.Type"/>.</summary>
    static abstract ProviderTypeDescriptor Descriptor { get; }
}
