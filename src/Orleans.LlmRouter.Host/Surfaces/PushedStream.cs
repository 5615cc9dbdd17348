using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// A routed stream pushed to a separate front end (<see cref="IRouterGrain.StreamToAsync"/>), read as an enumerator.
/// </summary>
/// <remarks>
/// Pulling a stream from outside the cluster (Orleans' async-enumerable grain calls) sends every pull through the
/// client's gateway for the router's key; while the silo running the stream stops, a pull can be placed on another
/// silo, which has no record of the enumerator (<c>EnumerationAbortedException</c>), and the stream is cut after its
/// first chunk. Pushed, the stream runs within one grain call on the silo it reached, which finishes it before it
/// leaves (its drain counts the call), and the items come to this client's observer whichever gateway carries them.
/// The observer writes them to a bounded channel: a batch is acknowledged once it fits, so a slow HTTP reader slows
/// the router, not the other way round. The call's end completes the channel (its failure, if any, is thrown by
/// <see cref="MoveNextAsync"/> after the items before it).
/// </remarks>
internal sealed class PushedStream : IAsyncEnumerator<ChatStreamItem>, IChatStreamObserver
{
    /// <summary>Items the front end holds for its HTTP reader before the router waits.</summary>
    internal const int Capacity = 64;

    private readonly Channel<ChatStreamItem> _items = Channel.CreateBounded<ChatStreamItem>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly IGrainFactory _grains;
    private readonly RouterCall _call;
    private readonly CancellationTokenSource _stop;
    private readonly IChatStreamObserver _reference;
    private readonly IRouterGrain _router;
    private readonly Task _running;
    private ChatStreamItem? _current;
    private Exception? _failure;

    private PushedStream(IGrainFactory grains, RouterCall call, ChatRequest request, RouterContext context)
    {
        _grains = grains;
        _call = call;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(call.Token);
        _reference = grains.CreateObjectReference<IChatStreamObserver>(this);
        _router = call.Router;
        _running = RunAsync(_router, request, context);
    }

    /// <summary>Starts the stream on the call's router.</summary>
    public static PushedStream Start(IGrainFactory grains, RouterCall call, ChatRequest request, RouterContext context) => new(grains, call, request, context);

    public ChatStreamItem Current => _current ?? throw new InvalidOperationException("No current item.");

    private async Task RunAsync(IRouterGrain router, ChatRequest request, RouterContext context)
    {
        try
        {
            await router.StreamToAsync(request, context, _reference, _stop.Token);
            _items.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _failure = ex; // thrown by MoveNextAsync once the items before it are read
            _items.Writer.TryComplete();
        }
    }

    Task IChatStreamObserver.OnRunningAsync(SiloAddress silo)
    {
        _call.RunsOn(silo, _router);
        return Task.CompletedTask;
    }

    async Task IChatStreamObserver.OnItemsAsync(ChatStreamItem[] items)
    {
        foreach (var item in items)
        {
            await _items.Writer.WriteAsync(item, _stop.Token); // throws once the reader is gone: the router stops the stream
        }
    }

    public async ValueTask<bool> MoveNextAsync()
    {
        while (await _items.Reader.WaitToReadAsync(CancellationToken.None))
        {
            if (_items.Reader.TryRead(out var item))
            {
                _current = item;
                return true;
            }
        }

        if (Volatile.Read(ref _failure) is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return false;
    }

    /// <summary>
    /// Lets the stream go: no more items are taken, and a call still running is cancelled. Completes when the call has
    /// ended (the caller bounds the wait, as for a pulled stream's disposal).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _items.Writer.TryComplete();
        if (!_running.IsCompleted)
        {
            try
            {
                await _stop.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // the call's token source is gone: the call has been given up
            }
        }

        try
        {
            await _running;
        }
        finally
        {
            _grains.DeleteObjectReference<IChatStreamObserver>(_reference);
            _stop.Dispose();
        }
    }
}
