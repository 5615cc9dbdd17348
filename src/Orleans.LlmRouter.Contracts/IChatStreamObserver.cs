namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Takes a routed stream pushed by the router (<see cref="IRouterGrain.StreamToAsync"/>). A caller outside the
/// cluster (an Orleans client, such as a separate front end) creates one with
/// <c>IGrainFactory.CreateObjectReference&lt;IChatStreamObserver&gt;</c> and keeps the object alive for the stream.
/// Pushing keeps a stream on the silo that started it: there are no follow-up calls from the caller that a gateway
/// could place on another silo while the first one stops.
/// </summary>
[Alias("llmrouter.IChatStreamObserver")]
public interface IChatStreamObserver : IGrainObserver
{
    /// <summary>
    /// Tells the caller which silo runs the stream, before anything else is pushed. A caller that watches for lost
    /// silos watches this one: a stream placed while a silo stopped may run on another silo than the one its router
    /// key reaches. Answer at once and make it idempotent: a notice not answered within its short timeout (a message
    /// to a client can be lost while the client's gateways change) is sent again. It interleaves with the other calls
    /// to the observer (a notice sent again does not queue behind one still pending).
    /// </summary>
    [Alias("running-on"), ResponseTimeout("00:00:05"), Orleans.Concurrency.AlwaysInterleave]
    Task OnRunningAsync(SiloAddress silo);

    /// <summary>
    /// Takes the next items, in order. The router sends the next batch only after this call completes, so complete it
    /// when there is room for more (flow control); a failure tells the router the caller is gone, and it stops the
    /// stream (what was generated is still billed).
    /// </summary>
    [Alias("items"), ResponseTimeout("00:05:00")]
    Task OnItemsAsync(ChatStreamItem[] items);
}
