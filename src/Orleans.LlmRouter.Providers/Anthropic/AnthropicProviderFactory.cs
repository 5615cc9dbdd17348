using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Anthropic;

/// <summary>Registers the <c>anthropic</c> provider type.</summary>
internal sealed class AnthropicProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null) : IDescribedChatProviderFactory
{
    /// <summary>The <c>anthropic</c> type, whose models count prompts with the Claude tokenizer estimate.</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.Anthropic, TokenizerFamily.Claude);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clients);
        var key = WireHelpers.ApiKey(provider, environment);
        return new AnthropicChatProvider(provider, clients.CreateClient(ProviderHttpClients.NameFor(provider.Id)), key, time);
    }
}
