using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.AzureOpenAi;

/// <summary>
/// Builds the <c>azure_openai</c> adapter: the OpenAI wire format (<see cref="OpenAiChatProvider"/>, so chat, streaming,
/// tools, structured output, vision and embeddings are OpenAI's) over Azure's paths, authentication, content-filter
/// errors (<see cref="AzureOpenAiErrors"/>) and headers: <c>x-ms-region</c> and <c>apim-request-id</c> are logged with
/// each answer and written into each error's message (the key, or the Entra token, scrubbed from it); <c>retry-after</c>, <c>retry-after-ms</c> and
/// <c>x-should-retry</c> are honoured as for OpenAI.
/// </summary>
internal static partial class AzureOpenAiAdapter
{
    public static IChatProvider Create(ProviderDefinition provider, HttpClient http, string? apiKey, EntraTokenSource? tokens, TimeProvider? time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(provider);
        if (string.IsNullOrWhiteSpace(provider.BaseUrl))
        {
            throw new ArgumentException($"Provider '{provider.Id}' (azure_openai) needs base_url: the resource endpoint, e.g. https://my-resource.openai.azure.com.", nameof(provider));
        }

        var v1 = provider.Options.TryGetValue("api", out var api) && api == "v1";
        var version = Uri.EscapeDataString(provider.Options.TryGetValue("api_version", out var av) && av.Length > 0 ? av : AzureOpenAiProviderFactory.DefaultApiVersion);
        var upstream = new UpstreamHttp(
            provider,
            http,
            provider.BaseUrl,
            apiKey,
            headers =>
            {
                if (apiKey is { Length: > 0 })
                {
                    headers.Add("api-key", apiKey);
                }
            },
            (response, body, model) => AzureOpenAiErrors.FromResponse(response, body, provider, model, time, apiKey ?? tokens?.Current),
            time)
        {
            Prepare = tokens is null ? null : async (request, _, cancellationToken) =>
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await tokens.GetAsync(cancellationToken)),
        };
        var dialect = new OpenAiDialect
        {
            ChatPath = v1 ? static _ => "openai/v1/chat/completions" : m => $"openai/deployments/{Uri.EscapeDataString(m.ProviderModel)}/chat/completions?api-version={version}",
            EmbeddingsPath = v1 ? static _ => "openai/v1/embeddings" : m => $"openai/deployments/{Uri.EscapeDataString(m.ProviderModel)}/embeddings?api-version={version}",
            ModelsPath = v1 ? "openai/v1/models" : $"openai/models?api-version={version}",
            FailedChoice = (choice, model) => AzureOpenAiErrors.FromFilteredChoice(choice, provider, model),
            Answered = (response, model) =>
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    var region = AzureOpenAiErrors.Header(response, "x-ms-region") ?? "-";
                    var apim = AzureOpenAiErrors.Header(response, "apim-request-id") ?? "-";
                    LogAnswered(logger, provider.Id, model?.ProviderModel ?? "-", region, apim);
                }
            },
        };
        var legacyMaxTokens = provider.Options.TryGetValue("max_tokens_field", out var field) && field == "max_tokens";
        return new OpenAiChatProvider(provider, upstream, apiKey, legacyMaxTokens, dialect);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Azure OpenAI provider {Provider} answered for {Deployment} from region {Region} (apim-request-id {ApimRequestId})")]
    private static partial void LogAnswered(ILogger logger, string provider, string deployment, string region, string apimRequestId);
}
