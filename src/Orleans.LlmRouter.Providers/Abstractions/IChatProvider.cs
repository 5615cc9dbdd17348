using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>One call to one provider model.</summary>
public sealed record ProviderCall(ChatRequest Request, ModelDefinition Model, ProviderDefinition Provider);

/// <summary>A provider's non-streaming answer, already normalised.</summary>
public sealed record ProviderResponse(ChatMessage Message, string FinishReason, TokenUsage Usage, string? UpstreamId = null);

/// <summary>
/// One normalised streaming chunk. The last one carries <see cref="FinishReason"/> and <see cref="Usage"/>; its usage is
/// null when the provider reported none (an OpenAI-compatible server that sends no usage chunk), so the caller can
/// tell a reported zero from a missing count. A stream that fails throws a <see cref="ProviderException"/> after the
/// chunks that came before the failure.
/// </summary>
public sealed record ProviderStreamChunk(string? TextDelta = null, IReadOnlyList<ToolCall>? ToolCalls = null, string? FinishReason = null, TokenUsage? Usage = null);

/// <summary>An embeddings call.</summary>
public sealed record EmbeddingCall(IReadOnlyList<string> Inputs, ModelDefinition Model, ProviderDefinition Provider, int? Dimensions = null);

/// <summary>Embedding vectors in input order, with the prompt tokens billed.</summary>
public sealed record EmbeddingResponse(IReadOnlyList<float[]> Vectors, long PromptTokens);

/// <summary>Result of a cheap health probe.</summary>
public sealed record ProviderHealthProbe(bool Healthy, string? Detail, TimeSpan Latency);

/// <summary>
/// The one abstraction every provider type implements. Implementations throw <see cref="ProviderException"/>
/// subclasses for every upstream failure (also mid-stream; an answer not in the API's documented shape is
/// <see cref="ProviderErrorClass.UpstreamInvalidResponse"/>), never any other exception type except
/// <see cref="OperationCanceledException"/> for the caller's own cancellation, and never put an API key in a message.
/// </summary>
public interface IChatProvider
{
    Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken);

    IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, CancellationToken cancellationToken);

    Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);

    Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Creates adapters of one provider type. A type's factory also implements <see cref="IDescribedChatProviderFactory"/>
/// and is registered with <see cref="ProviderTypeServiceCollectionExtensions.AddLlmRouterProviderType{TFactory}"/>:
/// that is the whole of adding a type.
/// </summary>
public interface IChatProviderFactory
{
    /// <summary>The YAML <c>type</c> this factory serves.</summary>
    string Type { get; }

    IChatProvider Create(ProviderDefinition provider);
}
