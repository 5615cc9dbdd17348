using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Client;
using Orleans.LlmRouter.Contracts;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the router-backed <see cref="IChatClient"/> and <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
public static class LlmRouterClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LlmRouterChatClient"/> as the <see cref="IChatClient"/> (singleton). Needs an
    /// <see cref="IGrainFactory"/> in the container: a co-hosted silo (<c>UseOrleans</c>) or an Orleans client
    /// (<c>UseOrleansClient</c>). Returns the builder so middleware composes:
    /// <c>services.AddLlmRouterChatClient(o =&gt; o.DefaultTenantId = "acme").UseLogging().UseFunctionInvocation();</c>
    /// </summary>
    public static ChatClientBuilder AddLlmRouterChatClient(this IServiceCollection services, Action<LlmRouterClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptions(services, configure);
        return services.AddChatClient(sp => new LlmRouterChatClient(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IOptions<LlmRouterClientOptions>>().Value));
    }

    /// <summary>
    /// Registers <see cref="LlmRouterEmbeddingGenerator"/> as the <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>
    /// (singleton), sharing <see cref="LlmRouterClientOptions"/> with the chat client.
    /// </summary>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AddLlmRouterEmbeddingGenerator(this IServiceCollection services, Action<LlmRouterClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptions(services, configure);
        return services.AddEmbeddingGenerator<string, Embedding<float>>(sp => new LlmRouterEmbeddingGenerator(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IOptions<LlmRouterClientOptions>>().Value));
    }

    private static void AddOptions(IServiceCollection services, Action<LlmRouterClientOptions>? configure)
    {
        // The app's trace context reaches the router (and the upstream) whether or not the app records spans.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOutgoingGrainCallFilter, TraceContextGrainCallFilter>());
        services.AddOptions<LlmRouterClientOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
    }
}
