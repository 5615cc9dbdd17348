using System.Runtime.CompilerServices;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// A routed stream as every surface writes it: <see cref="OpenAsync"/> waits for the first item, so routing,
/// fallback and every failure before it are answered as a plain error response (status and JSON body) in the
/// surface's shape; once the first item is out the stream is committed to its model, and a node lost mid-stream
/// becomes a last item with <see cref="ProviderErrorClass.ClusterUnavailable"/>, which each surface writes as its own error event.
/// A separate front end has its streams pushed to it (<see cref="PushedStream"/>); co-hosted, a stream is pulled from
/// the silo's own router.
/// </summary>
internal sealed class RoutedStream : IAsyncDisposable
{
    private readonly IAsyncEnumerator<ChatStreamItem> _items;
    private readonly RouterCall _call;
    private bool _faulted;

    private RoutedStream(IAsyncEnumerator<ChatStreamItem> items, RouterCall call, ChatStreamItem? first)
    {
        _items = items;
        _call = call;
        First = first;
    }

    /// <summary>The first item (null for a stream that ended without one).</summary>
    public ChatStreamItem? First { get; }

    /// <summary>Starts the stream and waits for its first item; a failure before it throws, to be mapped by the surface.</summary>
    public static async Task<RoutedStream> OpenAsync(RouterCall call, ChatRequest request, RouterContext context)
    {
        ArgumentNullException.ThrowIfNull(call);
        while (true)
        {
            var items = call.StreamObservers is { } observers
                ? PushedStream.Start(observers, call, request, context)
                : call.Router.StreamAsync(request, context, call.Token).GetAsyncEnumerator(call.Token);
            try
            {
                var first = await items.MoveNextAsync() ? items.Current : null;
                return new RoutedStream(items, call, first);
            }
            catch (Exception ex) when (call.RetryRefused(ex, pulled: items is not PushedStream))
            {
                await ReleaseAsync(items, call, faulted: true); // refused before it began (a pushed stream: not delivered at all): once more, on another router
            }
            catch (Exception ex)
            {
                await ReleaseAsync(items, call, faulted: SurfaceFailure.IsClusterFault(ex));
                throw;
            }
        }
    }

    /// <summary>Every item, the first included; a node lost mid-stream ends it with a <see cref="ProviderErrorClass.ClusterUnavailable"/> item.</summary>
    public async IAsyncEnumerable<ChatStreamItem> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (First is null)
        {
            yield break;
        }

        yield return First;
        while (true)
        {
            bool more;
            ChatStreamItem? lost = null;
            try
            {
                more = await _items.MoveNextAsync();
            }
            catch (Exception ex) when ((_call.Lost && ex is OperationCanceledException) || SurfaceFailure.IsClusterFault(ex))
            {
                more = false;
                _faulted = true;
                _call.StreamCut(ex);
                lost = new ChatStreamItem { ErrorClass = ProviderErrorClass.ClusterUnavailable, ErrorMessage = "A node of the cluster became unavailable during the stream." };
            }

            if (lost is not null)
            {
                yield return lost;
                yield break;
            }

            if (!more)
            {
                yield break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return _items.Current;
        }
    }

    public ValueTask DisposeAsync() => ReleaseAsync(_items, _call, _faulted);

    /// <summary>
    /// Disposes the enumeration, which tells the silo running it to let it go. That silo may be gone: then its disposal
    /// would wait for Orleans' response timeout (30 s by default) before the caller's response could end. So the
    /// disposal is awaited only while the silo is believed alive: not at all after a cluster fault of the enumeration
    /// (<paramref name="faulted"/>), and no longer than until the call is given up (its silo declared lost, or the
    /// client gone). A disposal left running ends by itself; its failure means nothing is left to release.
    /// </summary>
    private static async ValueTask ReleaseAsync(IAsyncEnumerator<ChatStreamItem> items, RouterCall call, bool faulted)
    {
        Task disposing;
        try
        {
            disposing = items.DisposeAsync().AsTask();
        }
        catch (Exception ex) when (SurfaceFailure.IsClusterFault(ex) || ex is OperationCanceledException)
        {
            return;
        }

        if (!disposing.IsCompleted && !faulted)
        {
            var givenUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (call.Token.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), givenUp))
            {
                await Task.WhenAny(disposing, givenUp.Task);
            }
        }

        if (!disposing.IsCompleted)
        {
            _ = disposing.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return;
        }

        try
        {
            await disposing;
        }
        catch (Exception ex) when (SurfaceFailure.IsClusterFault(ex) || ex is OperationCanceledException)
        {
            // the enumeration's silo is gone or the call was given up: there is nothing left to release
        }
    }
}
