using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// The one place a provider type is registered: its factory (which builds the adapters) and its
/// <see cref="ProviderTypeDescriptor"/> (which the catalog loader and the token counter read).
/// </summary>
public static class ProviderTypeServiceCollectionExtensions
{
    /// <summary>
    /// Registers a provider type: the factory as an <see cref="IChatProviderFactory"/> and its descriptor as a
    /// <see cref="ProviderTypeDescriptor"/> singleton. Registering the same type twice keeps the first registration;
    /// two factories claiming one type name is an error.
    /// </summary>
    /// <param name="services">The container (a host's, or a silo's).</param>
    /// <param name="create">Builds the factory from the container's services.</param>
    public static IServiceCollection AddLlmRouterProviderType<TFactory>(this IServiceCollection services, Func<IServiceProvider, TFactory> create)
        where TFactory : class, IDescribedChatProviderFactory
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(create);
        var descriptor = TFactory.Descriptor;
        ArgumentException.ThrowIfNullOrWhiteSpace(descriptor.Name, nameof(TFactory));
        var registered = services.Select(d => d.ImplementationInstance).OfType<ProviderTypeRegistration>().FirstOrDefault(r => r.Descriptor.Name == descriptor.Name);
        if (registered is not null)
        {
            return registered.FactoryType == typeof(TFactory)
                ? services
                : throw new InvalidOperationException($"Provider type '{descriptor.Name}' is already registered by {registered.FactoryType.Name}.");
        }

        services.AddSingleton(new ProviderTypeRegistration(descriptor, typeof(TFactory)));
        services.AddSingleton(descriptor);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatProviderFactory, TFactory>(create));
        return services;
    }

    /// <summary>The provider types registered so far in <paramref name="services"/>, in registration order.</summary>
    public static IReadOnlyList<ProviderTypeDescriptor> LlmRouterProviderTypes(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.Where(d => d.ServiceType == typeof(ProviderTypeDescriptor) && d.ImplementationInstance is ProviderTypeDescriptor)
            .Select(d => (ProviderTypeDescriptor)d.ImplementationInstance!)
            .ToList();
    }

    /// <summary>The names of the registered provider types: what the catalog loader accepts as <c>type</c>.</summary>
    public static IReadOnlySet<string> LlmRouterProviderTypeNames(this IServiceCollection services) =>
        services.LlmRouterProviderTypes().Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
}
