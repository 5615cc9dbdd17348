using System.Runtime.CompilerServices;
using Orleans.Concurrency;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// The router's grain face. All work — planning, token estimation, adapters, response parsing, bookkeeping — runs in
/// the silo's <see cref="RouterEngine"/> on the thread pool, never on this activation's scheduler, so one expensive
/// request cannot hold up the silo's other calls and routing uses every core of the silo. Stateless: it runs on the
/// silo that got the request.
/// </summary>
// One reentrant activation per silo that is never removed for idleness: the follow-up calls of a stream (MoveNext and
// Dispose on the enumerator) must reach the activation holding its enumerator. With several local workers Orleans may
// route them to another activation; and Orleans' adaptive idle-worker removal deactivates a worker that has no request
// running (every 500 ms after a burst of queued messages), which is what a stream is between two of its consumer's
// pulls. Either aborts the stream (EnumerationAbortedException). The activation only dispatches.
[StatelessWorker(1, removeIdleWorkers: false)]
[Reentrant]
internal sealed class RouterGrain(RouterEngine engine, Caching.ResponseCache cache, RouterServices services, ILocalSiloDetails silo) : Grain, IRouterGrain
{
    /// <summary>Most items in one push of <see cref="StreamToAsync"/>.</summary>
    internal const int MaxPushBatch = 32;

    public Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() => cache.CompleteAsync(request, context, cancellationToken), CancellationToken.None);

    public async IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = cache.StreamAsync(request, context, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (await Task.Run(() => stream.MoveNextAsync().AsTask(), CancellationToken.None))
            {
                yield return stream.Current;
            }
        }
        finally
        {
            await Task.Run(() => stream.DisposeAsync().AsTask(), CancellationToken.None);
        }
    }

    public async Task StreamToAsync(ChatRequest request, RouterContext context, IChatStreamObserver observer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(observer);

        // Held from before the request begins until its last batch is taken: a stopping silo's drain waits for the
        // delivery too, not only for the engine, which ends as soon as its last item is handed over.
        using var delivering = services.InFlight.HoldDelivery(context.RequestId);
        var stream = cache.StreamAsync(request, context, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var batch = new List<ChatStreamItem>();
        var pushing = AnnounceAsync(observer, silo.SiloAddress); // first out, while the engine starts
        try
        {
            while (await Task.Run(() => stream.MoveNextAsync().AsTask(), CancellationToken.None))
            {
                batch.Add(stream.Current);

                // One batch in flight at a time; what the engine yields meanwhile goes into the next one.
                if (pushing.IsCompleted || batch.Count >= MaxPushBatch)
                {
                    await pushing; // a failed push (the caller is gone) ends the stream here
                    pushing = observer.OnItemsAsync([.. batch]);
                    batch.Clear();
                }
            }

            await pushing;
            if (batch.Count > 0)
            {
                await observer.OnItemsAsync([.. batch]);
            }
        }
        catch (Exception) when (!pushing.IsCompleted)
        {
            // The engine failed while a batch was out: let that batch arrive before the failure answers the call.
            await pushing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current);
            _ = pushing.Exception;
            throw;
        }
        finally
        {
            await Task.Run(() => stream.DisposeAsync().AsTask(), CancellationToken.None);
        }
    }

    /// <summary>
    /// Tells the caller where the stream runs. A notice unanswered within its timeout (5 s) is sent again, twice at most:
    /// a message to a client can be lost while the client's gateways change, and the stream would otherwise wait out
    /// the default response timeout before its first item.
    /// </summary>
    private static async Task AnnounceAsync(IChatStreamObserver observer, SiloAddress at)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await observer.OnRunningAsync(at);
                return;
            }
            catch (TimeoutException) when (attempt < 3)
            {
            }
        }
    }

    public Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RouterContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() => engine.EmbedAsync(request, context, cancellationToken), CancellationToken.None);

    public Task<bool> CancelAsync(string requestId, string tenantId) => Task.FromResult(services.InFlight.Cancel(requestId, tenantId));

    public Task<RouteExplanation> ExplainAsync(ChatRequest request, RouterContext context) =>
        Task.Run(() => engine.ExplainAsync(request, context), CancellationToken.None);
}
