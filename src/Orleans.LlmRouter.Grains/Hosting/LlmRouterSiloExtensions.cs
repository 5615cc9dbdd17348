using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Simulated;

namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>Registers what a silo needs to host the router grains.</summary>
public static class LlmRouterSiloExtensions
{
    /// <summary>
    /// Registers the catalog, the provider adapters and the router services on a silo's container.
    /// Adding a provider type is one more <see cref="IChatProviderFactory"/> registration in <see cref="AddProviderFactories"/>.
    /// </summary>
    public static IServiceCollection AddLlmRouterGrains(this IServiceCollection services, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(catalog);
        services.AddProviderFactories();
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<RouterServices>();
        return services;
    }

    /// <summary>One line per provider type.</summary>
    public static IServiceCollection AddProviderFactories(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChatProviderFactory, SimulatedProviderFactory>());
        return services;
    }
}
