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
    /// <summary>Sends a chat request and returns the whole answer.</summary>
    /// <exception cref="ProviderException">The upstream call failed.</exception>
    Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken);

    /// <summary>Sends a chat request and streams the answer; the last chunk carries the finish reason and usage.</summary>
    /// <exception cref="ProviderException">The upstream call failed, before the first chunk or mid-stream.</exception>
    IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, CancellationToken cancellationToken);

    /// <summary>Returns the embedding vectors of the inputs, in input order.</summary>
    /// <exception cref="ProviderException">The upstream call failed.</exception>
    Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken);

    /// <summary>Lists the model names the provider serves.</summary>
    /// <exception cref="ProviderException">The upstream call failed.</exception>
    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>Makes a cheap call that shows whether the provider answers, and how fast.</summary>
    /// <exception cref="ProviderException">The provider could not be reached or refused the call.</exception>
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

    /// <summary>Creates the adapter of one provider of this factory's <see cref="Type"/>.</summary>
    IChatProvider Create(ProviderDefinition provider);
}
