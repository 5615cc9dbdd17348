using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>Registers the <c>gemini</c> provider type (the Google Gemini Developer API).</summary>
internal sealed class GeminiProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null) : IDescribedChatProviderFactory
{
    /// <summary>The <c>gemini</c> type.</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.Gemini);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var key = WireHelpers.ApiKey(provider, environment);
        return new GeminiChatProvider(provider, clients.CreateClient(Http.ProviderHttpClients.NameFor(provider.Id)), key, time);
    }
}
