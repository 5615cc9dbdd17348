namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// The router: walks strategy chains, falls back, prices and records each call. A reentrant stateless worker (one
/// activation per silo, so a stream's follow-up calls reach the activation that holds it),
/// so it runs on the silo that received the request. Use key <c>0</c>.
/// </summary>
[Alias("llmrouter.IRouterGrain")]
public interface IRouterGrain : IGrainWithIntegerKey
{
    /// <summary>Completes a chat request on the first candidate model that succeeds.</summary>
    /// <exception cref="AllModelsFailedException">Every candidate failed; lists each attempt.</exception>
    /// <exception cref="InvalidRoutingException">Unknown model/action/strategy or an unusable request.</exception>
    [Alias("complete"), ResponseTimeout("00:10:00")]
    Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default);

    /// <summary>Streams a chat completion. Fallback happens only before the first item is yielded.</summary>
    [Alias("stream")]
    IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a chat completion by pushing its items to <paramref name="observer"/> in batches, one batch at a time
    /// (the next is sent when the observer has taken the last), and completes once the observer has taken the last
    /// item. Fallback happens only before the first item is pushed. A failure before it is thrown, as by
    /// <see cref="StreamAsync"/>; after it the stream ends with an error item. For callers outside the cluster: the
    /// stream runs within this one call on the silo it reached, which a stopping silo finishes before it leaves.
    /// </summary>
    [Alias("stream-push"), ResponseTimeout("00:10:00")]
    Task StreamToAsync(ChatRequest request, RouterContext context, IChatStreamObserver observer, CancellationToken cancellationToken = default);

    /// <summary>Embeds texts on an embedding model (explicit, or through an action such as <c>embedding</c>).</summary>
    [Alias("embed"), ResponseTimeout("00:05:00")]
    Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RouterContext context, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a running request of <paramref name="tenantId"/> (by <see cref="RouterContext.RequestId"/>) on the silo this
    /// call reaches — the one running it when called from the same silo, or through the same client gateway. True when
    /// it was found. Callers whose caller went away use this besides cancelling their token (see dotnet/orleans#9877).
    /// </summary>
    [Alias("cancel"), Orleans.Concurrency.AlwaysInterleave]
    Task<bool> CancelAsync(string requestId, string tenantId);

    /// <summary>Decides the route without calling any provider.</summary>
    [Alias("explain")]
    Task<RouteExplanation> ExplainAsync(ChatRequest request, RouterContext context);
}
