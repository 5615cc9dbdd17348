namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Which factory registered a provider type (to tell a repeated registration from a clash).</summary>
internal sealed record ProviderTypeRegistration(ProviderTypeDescriptor Descriptor, Type FactoryType);
