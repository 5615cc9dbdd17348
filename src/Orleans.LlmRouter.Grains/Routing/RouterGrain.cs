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
internal sealed class RouterGrain(RouterEngine engine, RouterServices services) : Grain, IRouterGrain
{
    public Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() => engine.CompleteAsync(request, context, cancellationToken), CancellationToken.None);

    public async IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = engine.StreamAsync(request, context, cancellationToken).GetAsyncEnumerator(cancellationToken);
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

    public Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RouterContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() => engine.EmbedAsync(request, context, cancellationToken), CancellationToken.None);

    public Task<bool> CancelAsync(string requestId, string tenantId) => Task.FromResult(services.InFlight.Cancel(requestId, tenantId));

    public Task<RouteExplanation> ExplainAsync(ChatRequest request, RouterContext context) =>
        Task.Run(() => engine.ExplainAsync(request, context), CancellationToken.None);
}
