using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Anthropic;
using Orleans.LlmRouter.Providers.AzureOpenAi;
using Orleans.LlmRouter.Providers.Bedrock;
using Orleans.LlmRouter.Providers.Gemini;
using Orleans.LlmRouter.Providers.Ollama;
using Orleans.LlmRouter.Providers.OpenAi;
using Orleans.LlmRouter.Providers.Simulated;

namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>Registers what a silo needs to host the router grains.</summary>
public static class LlmRouterSiloExtensions
{
    /// <summary>
    /// Registers the catalog, the provider adapters and the router services on a silo's container.
    /// Provider types come from <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>
    /// registrations (the built-in ones in <see cref="AddProviderFactories"/>).
    /// </summary>
    public static IServiceCollection AddLlmRouterGrains(this IServiceCollection services, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(RouterClock.System);
        services.TryAddSingleton(RouterRandom.System);
        services.AddStorageExceptionSerialization();

        // Providers whose type has no registered adapter are disabled, with the reason, rather than failing at call time.
        services.AddSingleton(sp =>
        {
            var types = ProviderRegistry.TypesOf(sp.GetServices<IChatProviderFactory>());
            return catalog.DisableProviders(p => !types.Contains(p.Type), "no adapter for this provider type in this build");
        });
        services.AddSingleton<ProviderGate>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ProviderGateWarmUp>();
        services.AddSingleton<TenantDirectory>();
        services.TryAddSingleton<ILedger, InMemoryLedger>();
        services.AddHttpClient(Budgets.BudgetAlerts.ClientName, c => c.Timeout = TimeSpan.FromSeconds(5));
        services.AddProviderFactories();
        services.AddSingleton<ProviderRegistry>();
        services.TryAddSingleton<Core.Tokens.PromptTokenCounter>();
        services.AddOptions<Budgets.BudgetOptions>();
        services.AddOptions<RouterOptions>();
        services.TryAddSingleton(sp => new GrainCalls(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RouterOptions>>().Value, sp.GetRequiredService<RouterClock>().Time));
        services.AddRequestLimits();
        services.AddSingleton<RouterServices>();
        services.AddOptions<Telemetry.TelemetryOptions>();
        services.AddSingleton(sp => new Telemetry.RouterTelemetry(
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetService<Microsoft.Extensions.Options.IOptions<Telemetry.TelemetryOptions>>(),
            sp.GetRequiredService<ProviderGate>()));
        services.AddSingleton<RouterEngine>();
        services.AddOptions<Caching.ResponseCacheOptions>();
        services.TryAddSingleton<Caching.IResponseCacheStore, Caching.InMemoryResponseCacheStore>();
        services.AddSingleton<Caching.ResponseCacheStorage>();
        services.AddSingleton<Caching.ResponseCache>();
        services.AddSingleton<ReservationKeeper>();
        // W3C trace context across grain calls with or without an exporter (after Orleans' own activity propagation
        // when the host registered it first, so a sampled grain-call activity is used when there is one).
        services.AddSingleton<IOutgoingGrainCallFilter, Telemetry.TraceContextOutgoingFilter>();
        services.AddSingleton<IIncomingGrainCallFilter, Telemetry.TraceContextIncomingFilter>();

        // A stopping silo lets its router calls in flight finish before its grains deactivate (graceful drain).
        services.AddOptions<RouterDrainOptions>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, RouterDrain>();

        // Lets a front end running as an Orleans client ask whether the silo it reaches runs its request (silo loss).
        services.AddKeyedTransient<IGrainExtension, RouterProbeExtension>(typeof(Contracts.IRouterProbeExtension));
        return services;
    }

    /// <summary>
    /// Registers what a front end running as an Orleans client (no silo) needs: the catalog (providers without an
    /// adapter disabled, as on the silos), the tenant directory and the router clock. The caller registers the ledger.
    /// </summary>
    public static IServiceCollection AddLlmRouterFrontEnd(this IServiceCollection services, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(RouterClock.System);
        services.AddStorageExceptionSerialization();
        services.AddProviderFactories();
        services.AddSingleton(sp =>
        {
            var types = ProviderRegistry.TypesOf(sp.GetServices<IChatProviderFactory>());
            return catalog.DisableProviders(p => !types.Contains(p.Type), "no adapter for this provider type in this build");
        });
        services.AddSingleton<TenantDirectory>();
        services.TryAddSingleton<ILedger, InMemoryLedger>();
        services.AddOptions<RouterOptions>();
        services.TryAddSingleton(sp => new GrainCalls(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RouterOptions>>().Value, sp.GetRequiredService<RouterClock>().Time));
        services.AddRequestLimits();
        services.AddOptions<Telemetry.TelemetryOptions>();
        services.AddSingleton<IOutgoingGrainCallFilter, Telemetry.TraceContextOutgoingFilter>(); // the caller's trace context into the silos
        return services;
    }

    /// <summary>
    /// Registers <see cref="RequestLimitsOptions"/> (defaults unless the host binds <c>LlmRouter:Limits</c>) with its
    /// validator, for <see cref="RequestLimits"/> on the front end and in the router.
    /// </summary>
    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitsOptions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<RequestLimitsOptions>, RequestLimitsOptionsValidator>());
        return services;
    }

    /// <summary>
    /// Lets storage errors (Npgsql) cross grain calls as exceptions instead of failing the response's serialization.
    /// </summary>
    public static IServiceCollection AddStorageExceptionSerialization(this IServiceCollection services) =>
        services.Configure<Orleans.Serialization.ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));

    /// <summary>
    /// Registers the built-in provider types, one <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>
    /// line each (idempotent). A host adds its own types the same way, before or after this call; the catalog loader
    /// accepts exactly the registered types (<see cref="ProviderTypeServiceCollectionExtensions.LlmRouterProviderTypeNames"/>).
    /// </summary>
    public static IServiceCollection AddProviderFactories(this IServiceCollection services)
    {
        services.AddHttpClient();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IConfigureOptions<Microsoft.Extensions.Http.HttpClientFactoryOptions>, Orleans.LlmRouter.Providers.Http.ProviderHttpClients>());
        services.AddLlmRouterProviderType(sp => new OpenAiProviderFactory(sp.GetRequiredService<IHttpClientFactory>()));
        services.AddLlmRouterProviderType(sp => new AzureOpenAiProviderFactory(sp.GetRequiredService<IHttpClientFactory>(), tokens: sp.GetService<Azure.Core.TokenCredential>()));
        services.AddLlmRouterProviderType(sp => new AnthropicProviderFactory(sp.GetRequiredService<IHttpClientFactory>()));
        services.AddLlmRouterProviderType(sp => new BedrockProviderFactory(sp.GetRequiredService<IHttpClientFactory>(), time: sp.GetService<RouterClock>()?.Time));
        services.AddLlmRouterProviderType(sp => new GeminiProviderFactory(sp.GetRequiredService<IHttpClientFactory>()));
        services.AddLlmRouterProviderType(sp => new OllamaProviderFactory(sp.GetRequiredService<IHttpClientFactory>()));
        services.AddLlmRouterProviderType(sp => new SimulatedProviderFactory(sp.GetService<RouterClock>()?.Time ?? TimeProvider.System));
        return services;
    }
}
