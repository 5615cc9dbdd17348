using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>Registers the gateway's options (<see cref="LlmRouterOptions"/>, storage, cluster) bound from <c>LlmRouter</c>, validated on start.</summary>
internal static class LlmRouterSettings
{
    /// <summary>Binds the three options from <paramref name="config"/>'s <c>LlmRouter</c> section with <c>ValidateOnStart</c>.</summary>
    public static IServiceCollection AddLlmRouterSettings(this IServiceCollection services, IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetSection(LlmRouterOptions.SectionName);
        services.AddOptions<LlmRouterOptions>().Bind(section).ValidateOnStart();
        services.AddOptions<LlmRouterStorageOptions>().Bind(section).ValidateOnStart();
        services.AddOptions<LlmRouterClusterOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRouterOptions>, LlmRouterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRouterStorageOptions>, LlmRouterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmRouterClusterOptions>, LlmRouterOptionsValidator>());
        return services;
    }
}
