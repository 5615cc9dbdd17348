using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>One call to the router from the front end; see <see cref="RouterCalls.Begin"/>.</summary>
internal sealed class RouterCall : IDisposable
{
    private readonly RouterCalls _owner;
    private readonly CancellationTokenSource _source;
    private readonly CancellationTokenRegistration _cancelRouter;
    private volatile bool _lost;

    internal RouterCall(RouterCalls owner, RouterContext context, IRouterGrain router, CancellationTokenSource source, long started)
    {
        _owner = owner;
        Context = context;
        Router = router;
        _source = source;
        Started = started;
        _cancelRouter = router.CancelWhen(context, source.Token);
    }

    /// <summary>The router reference to call (and to enumerate a stream on).</summary>
    public IRouterGrain Router { get; }

    /// <summary>Pass this to the router call: it fires when the HTTP client goes away or the call's router is lost.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>True when the call was given up because the silo running it is gone (answer 503, Retry-After).</summary>
    public bool Lost => _lost;

    internal RouterContext Context { get; }

    internal long Started { get; }

    internal int Misses { get; set; }

    internal void MarkLost()
    {
        _lost = true;
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // it ended meanwhile
        }
    }

    public void Dispose()
    {
        _owner.End(this);
        _cancelRouter.Dispose();
        _source.Dispose();
    }
}
