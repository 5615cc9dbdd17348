using System.Text.Json;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.OpenAi;

/// <summary>
/// Where an API that speaks the OpenAI Chat Completions wire format differs from OpenAI's own: its paths (Azure puts
/// the deployment and an <c>api-version</c> in them), a choice it reports as a failure (Azure's <c>content_filter</c>
/// finish), and what it sends back that is kept for the log (Azure's region and APIM request id).
/// <see cref="OpenAiChatProvider"/> speaks the wire format once for all of them.
/// </summary>
internal sealed class OpenAiDialect
{
    /// <summary>OpenAI and the OpenAI-compatible APIs: <c>/v1/…</c>.</summary>
    public static OpenAiDialect OpenAi { get; } = new();

    /// <summary>The chat completions path of a model, relative to the base URL.</summary>
    public Func<ModelDefinition, string> ChatPath { get; init; } = static _ => "v1/chat/completions";

    /// <summary>The embeddings path of a model, relative to the base URL.</summary>
    public Func<ModelDefinition, string> EmbeddingsPath { get; init; } = static _ => "v1/embeddings";

    /// <summary>The model list path, relative to the base URL.</summary>
    public string ModelsPath { get; init; } = "v1/models";

    /// <summary>
    /// A finished choice (a response's, or the stream chunk that carries the finish reason) that the API means as a
    /// failure, turned into its typed error; null keeps it an answer.
    /// </summary>
    public Func<JsonElement, ModelDefinition, ProviderException?>? FailedChoice { get; init; }

    /// <summary>Sees every 2xx answer's headers (for the log).</summary>
    public Action<HttpResponseMessage, ModelDefinition?>? Answered { get; init; }
}
