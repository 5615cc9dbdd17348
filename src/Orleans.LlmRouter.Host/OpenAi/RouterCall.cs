using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>One call to the router from the front end; see <see cref="RouterCalls.Begin"/>.</summary>
internal sealed partial class RouterCall : IDisposable
{
    private readonly RouterCalls _owner;
    private readonly CancellationTokenSource _source;
    private CancellationTokenRegistration _cancelRouter;
    private volatile bool _lost;
    private volatile SiloAddress? _silo;
    private bool _retried;

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
    public IRouterGrain Router { get; private set; }

    /// <summary>
    /// Calls the router once, and once more through another router key (so, usually, another gateway silo) when the
    /// cluster refused the first call without running it: a draining router's refusal, an Orleans rejection (the silo
    /// was stopping, it was declared dead before the message went out) or a gateway too busy to take it. The router method
    /// never ran, so nothing was reserved, sent upstream or billed, and repeating it is safe. Only a separate front end
    /// (an Orleans client with several gateways) retries; co-hosted, the router is this silo's own. Streams are repeated by
    /// <see cref="Surfaces.RoutedStream.OpenAsync"/> (see <see cref="RetryRefused"/>).
    /// </summary>
    public async Task<T> InvokeAsync<T>(Func<IRouterGrain, RouterContext, CancellationToken, Task<T>> invoke)
    {
        ArgumentNullException.ThrowIfNull(invoke);
        try
        {
            return await invoke(Router, Context, Token);
        }
        catch (Exception ex) when (RetryRefused(ex, pulled: false))
        {
            LogRetried(_owner.Logger, ex, Context.RequestId, Context.TenantId);
            return await invoke(Router, Context, Token);
        }
    }

    /// <summary>
    /// True, once per call, when <paramref name="ex"/> proves the router did nothing for it and the call has been
    /// moved to another router key: then the caller repeats it on <see cref="Router"/>. A pulled stream
    /// (<paramref name="pulled"/>) is repeated only after a refusal by a draining router
    /// (<see cref="Grains.Routing.SiloDrainingException"/>), which comes before anything ran; a rejected message of a
    /// pulled stream may belong to an enumeration already under way. A pushed stream is one call, repeated like any.
    /// </summary>
    internal bool RetryRefused(Exception ex, bool pulled) =>
        (pulled ? ex is Grains.Routing.SiloDrainingException : NotDelivered(ex)) && !_lost && !Token.IsCancellationRequested && TryReroute();

    /// <summary>True for the failures that prove the router method did not run.</summary>
    internal static bool NotDelivered(Exception ex) =>
        ex is Grains.Routing.SiloDrainingException or Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.GatewayTooBusyException;

    private bool TryReroute()
    {
        if (_retried || !_owner.Guard)
        {
            return false;
        }

        _retried = true;
        _cancelRouter.Dispose();
        Router = _owner.NextRouter(Router);
        Misses = 0;
        _silo = null;
        Started = _owner.Now; // the new router has not begun it yet: it gets the young call's grace before a probe
        _cancelRouter = Router.CancelWhen(Context, _source.Token);
        return true;
    }

    /// <summary>Where this call's stream is pushed to (a separate front end), or null to pull it (co-hosted); see <see cref="RouterCalls.StreamObservers"/>.</summary>
    internal IGrainFactory? StreamObservers => _owner.StreamObservers;

    /// <summary>Pass this to the router call: it fires when the HTTP client goes away or the call's router is lost.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>True when the call was given up because the silo running it is gone (answer 503, Retry-After).</summary>
    public bool Lost => _lost;

    internal RouterContext Context { get; }

    /// <summary>When the call was sent to its current <see cref="Router"/> (a retry moves it): probes wait <see cref="RouterCalls.ProbeAfter"/> from here.</summary>
    internal long Started { get; private set; }

    internal int Misses { get; set; }

    /// <summary>
    /// The silo running this call's pushed stream, as its router told (<see cref="Surfaces.PushedStream"/>); null until
    /// then, and for other calls. Probes watch that silo rather than the router key's: a stream placed while a silo
    /// stopped may run on another silo than the one its key reaches.
    /// </summary>
    internal SiloAddress? Silo => _silo;

    /// <summary>Records the silo running the stream started on <paramref name="router"/>, unless the call has moved on since.</summary>
    internal void RunsOn(SiloAddress silo, IRouterGrain router)
    {
        if (ReferenceEquals(router, Router))
        {
            _silo = silo;
        }
    }

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

    /// <summary>Logs why a stream was cut after its first item (a node of the cluster lost, or the call given up).</summary>
    internal void StreamCut(Exception ex) => LogStreamCut(_owner.Logger, ex, Context.RequestId, Context.TenantId, _lost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of tenant {TenantId}: its stream was cut after its first chunk by a cluster fault (router declared lost: {Lost}); the caller gets an error event")]
    private static partial void LogStreamCut(ILogger logger, Exception error, string requestId, string tenantId, bool lost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request {RequestId} of tenant {TenantId}: the cluster refused it before it ran; retrying once through another router")]
    private static partial void LogRetried(ILogger logger, Exception error, string requestId, string tenantId);
}
