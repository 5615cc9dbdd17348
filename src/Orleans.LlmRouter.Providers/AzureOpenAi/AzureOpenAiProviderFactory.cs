using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Common;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.AzureOpenAi;

/// <summary>
/// Registers the <c>azure_openai</c> provider type: Azure OpenAI (Azure AI Foundry) resources. <c>base_url</c> is the
/// resource endpoint (<c>https://{resource}.openai.azure.com</c>) and <c>provider_model</c> the deployment name.
/// Options: <c>api</c> — <c>deployments</c> (default: <c>/openai/deployments/{deployment}/chat/completions?api-version=…</c>)
/// or <c>v1</c> (<c>/openai/v1/chat/completions</c>, the deployment as <c>model</c>); <c>api_version</c> (deployments
/// path, default <see cref="DefaultApiVersion"/>); <c>auth</c> — <c>api_key</c> (default: the <c>api-key</c> header from
/// <c>api_key_env</c>) or <c>entra_id</c> (a bearer token for <see cref="EntraScope"/> from the injected
/// <see cref="TokenCredential"/>, else <see cref="DefaultAzureCredential"/>).
/// </summary>
/// <param name="clients">The HTTP clients (one pool per provider).</param>
/// <param name="environment">Reads the key's environment variable (the process environment when null).</param>
/// <param name="time">The clock of the stream idle timeout and Retry-After dates.</param>
/// <param name="tokens">The Entra ID token source for <c>auth: entra_id</c> (a <see cref="DefaultAzureCredential"/> when null).</param>
/// <param name="logs">Where the region and APIM request id of each answer are logged (Debug).</param>
internal sealed class AzureOpenAiProviderFactory(IHttpClientFactory clients, Func<string, string?>? environment = null, TimeProvider? time = null, TokenCredential? tokens = null, ILoggerFactory? logs = null)
    : IDescribedChatProviderFactory
{
    /// <summary>The <c>api-version</c> of the deployments path when the provider sets none (the GA version of late 2024).</summary>
    public const string DefaultApiVersion = "2024-10-21";

    /// <summary>The scope of Entra ID tokens for Azure OpenAI.</summary>
    public const string EntraScope = "https://cognitiveservices.azure.com/.default";

    private readonly Lazy<TokenCredential> _tokens = new(() => tokens ?? new DefaultAzureCredential());

    /// <summary>The <c>azure_openai</c> type (tokenizer by model id, as for OpenAI).</summary>
    public static ProviderTypeDescriptor Descriptor { get; } = new(ProviderTypes.AzureOpenAi);

    public string Type => Descriptor.Name;

    public IChatProvider Create(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clients);
        var entra = provider.Options.TryGetValue("auth", out var auth) && auth == "entra_id";
        var key = entra ? null : WireHelpers.ApiKey(provider, environment);
        return AzureOpenAiAdapter.Create(
            provider,
            clients.CreateClient(ProviderHttpClients.NameFor(provider.Id)),
            key,
            entra ? new EntraTokenSource(_tokens.Value, EntraScope, time ?? TimeProvider.System) : null,
            time,
            (logs ?? NullLoggerFactory.Instance).CreateLogger("Orleans.LlmRouter.Providers.AzureOpenAi"));
    }
}
