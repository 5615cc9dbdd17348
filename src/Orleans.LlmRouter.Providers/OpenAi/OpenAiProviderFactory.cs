using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.OpenAi;

/// <summary>Registers the <c>openai</c> provider type (OpenAI and every OpenAI-compatible API).</summary>
internal sealed class OpenAiProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null) : IDescribedChatProviderFactory
{
    /// <summary>The <c>openai</c> type.</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.OpenAi);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var key = WireHelpers.ApiKey(provider, environment);
        return new OpenAiChatProvider(provider, clients.CreateClient(ProviderHttpClients.NameFor(provider.Id)), key, time);
    }
}
