using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Ollama;

/// <summary>Registers the <c>ollama</c> provider type (Ollama's native API). A key is optional: set <c>api_key_env</c> for a proxy that wants a bearer token.</summary>
internal sealed class OllamaProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null) : IDescribedChatProviderFactory
{
    /// <summary>The <c>ollama</c> type.</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.Ollama);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var key = WireHelpers.ApiKey(provider, environment);
        return new OllamaChatProvider(provider, clients.CreateClient(ProviderHttpClients.NameFor(provider.Id)), key, time);
    }
}
