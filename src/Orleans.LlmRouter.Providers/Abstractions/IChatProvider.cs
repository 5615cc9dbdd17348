using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Abstractions;

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
