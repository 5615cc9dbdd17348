using System.Collections.Concurrent;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// The front end's calls to the router, with a bounded wait when the silo running a call is lost.
/// </summary>
/// <remarks>
/// <para>
/// Co-hosted (a silo serving HTTP), the router runs on this silo: if it dies, the HTTP connection dies with it, and a
/// grain it calls on a dead silo fails the call once membership declares that silo dead. Nothing to guard.
/// </para>
/// <para>
/// As a separate front end (an Orleans client) it is different. A stateless-worker router is activated on the gateway
/// silo the client sends through, and Orleans 10's client never breaks a call pending at a gateway whose connection
/// drops: <c>OutsideRuntimeClient.BreakOutstandingMessagesToSilo</c> exists but nothing on the client calls it, so the
/// call waits for its response timeout — ten minutes for <see cref="IRouterGrain.CompleteAsync"/>. What does end it at
/// once is its cancellation token (<c>CallbackData.OnCancellation</c> completes the call without waiting for the callee
/// while <c>WaitForCancellationAcknowledgement</c> is false, the default). So each call here gets a token that fires
/// when its router is gone: every <see cref="ProbeInterval"/>, the calls older than <see cref="ProbeAfter"/> are
/// probed through the same router reference (<see cref="IRouterProbeExtension"/>); a reference whose gateway died has
/// moved to a live gateway, which does not run the request; missing there <see cref="MissesToLose"/> times in a row,
/// the call is lost, its token fires and the caller answers 503 with Retry-After. A probe that fails or times out
/// proves nothing and counts as no miss. A drop in the number of connected gateways triggers a probe at once.
/// </para>
/// <para>
/// The front end also spreads its calls over <see cref="RouterKeys"/> router grain keys: the client sends every message
/// for one grain id through one gateway, so with a single key one silo ran all the routing of a front end, and its loss
/// took every call in flight.
/// </para>
/// <para>
/// Streams are pushed to a separate front end (<see cref="Surfaces.PushedStream"/>), and a router placed while its key's
/// gateway silo was stopping runs on another silo than the key reaches: a probe through the key would miss it. So a
/// pushed stream whose router named its silo is watched in membership instead (<c>IManagementGrain.GetHosts</c>, one
/// call per sweep): it misses while that silo is dead or unknown, and a stopping silo, which finishes its streams,
/// counts as alive.
/// </para>
/// </remarks>
internal sealed partial class RouterCalls : IClusterConnectionStatusObserver, IDisposable
{
    /// <summary>How often calls in flight are probed.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    /// <summary>Calls younger than this are not probed (the router may not have begun them yet).</summary>
    public static readonly TimeSpan ProbeAfter = TimeSpan.FromSeconds(2);

    /// <summary>A probe that has not answered by then proves nothing.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Consecutive probes that must miss a call before it is declared lost.</summary>
    public const int MissesToLose = 2;

    /// <summary>Router grain keys a separate front end spreads its calls over.</summary>
    public const int RouterKeys = 16;

    private readonly Func<int, IRouterGrain> _routers;
    private readonly IGrainFactory? _grains;
    private readonly Func<IRouterGrain, string[], CancellationToken, Task<string[]>> _probe;
    private readonly Func<Task<Dictionary<SiloAddress, SiloStatus>>>? _silos;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _guard;
    private readonly ConcurrentDictionary<RouterCall, byte> _calls = new();
    private readonly ITimer? _timer;
    private int _next;
    private int _sweeping;

    /// <summary>
    /// Creates the call tracker. <paramref name="guard"/> is true for a separate front end (spread keys, probes) and
    /// false when co-hosted with a silo (key 0, no probes).
    /// </summary>
    public RouterCalls(IGrainFactory grains, TimeProvider time, ILogger<RouterCalls> logger, bool guard)
        : this(key => grains.GetRouter(key), ProbeAsync, time, logger, guard, () => grains.GetGrain<IManagementGrain>(0).GetHosts())
    {
        ArgumentNullException.ThrowIfNull(grains);
        _grains = grains;
    }

    internal RouterCalls(
        Func<int, IRouterGrain> routers,
        Func<IRouterGrain, string[], CancellationToken, Task<string[]>> probe,
        TimeProvider time,
        ILogger logger,
        bool guard,
        Func<Task<Dictionary<SiloAddress, SiloStatus>>>? silos = null)
    {
        _routers = routers;
        _probe = probe;
        _silos = silos;
        _time = time;
        _logger = logger;
        _guard = guard;
        if (guard)
        {
            _timer = time.CreateTimer(static s => _ = ((RouterCalls)s!).SweepAsync(), this, ProbeInterval, ProbeInterval);
        }
    }

    /// <summary>Calls being tracked (for tests).</summary>
    internal int Count => _calls.Count;

    /// <summary>True for a separate front end (spread keys, probes, retries of refused calls).</summary>
    internal bool Guard => _guard;

    internal ILogger Logger => _logger;

    /// <summary>
    /// The grain factory a separate front end creates stream observers with: its streams are pushed to it
    /// (<see cref="Surfaces.PushedStream"/>) rather than pulled through a gateway. Null co-hosted, where the router is
    /// this silo's own and a stream is pulled in process.
    /// </summary>
    internal IGrainFactory? StreamObservers => _guard ? _grains : null;

    /// <summary>The clock's timestamp now.</summary>
    internal long Now => _time.GetTimestamp();

    /// <summary>A router under another key than <paramref name="current"/>'s (a retry; guarded front ends only).</summary>
    internal IRouterGrain NextRouter(IRouterGrain current)
    {
        for (var i = 0; i < RouterKeys; i++)
        {
            var next = _routers((int)((uint)Interlocked.Increment(ref _next) % RouterKeys));
            if (!next.Equals(current))
            {
                return next;
            }
        }

        return current;
    }

    /// <summary>
    /// Begins a call: the router to call and a token that fires when <paramref name="aborted"/> does (the HTTP client
    /// went away) or when the call's router is lost. Either way the router is asked to cancel the request too.
    /// Dispose the result when the call ends.
    /// </summary>
    public RouterCall Begin(RouterContext context, CancellationToken aborted)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = _guard ? (int)((uint)Interlocked.Increment(ref _next) % RouterKeys) : 0;
        var call = new RouterCall(this, context, _routers(key), CancellationTokenSource.CreateLinkedTokenSource(aborted), _time.GetTimestamp());
        if (_guard)
        {
            _calls[call] = 0;
        }

        return call;
    }

    /// <summary>Probes the calls in flight now (the timer and a gateway loss call it; tests call it directly).</summary>
    internal async Task SweepAsync()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            var due = _calls.Keys.Where(c => !c.Lost && _time.GetElapsedTime(c.Started) >= ProbeAfter).ToList();
            var onKnownSilo = _silos is null ? [] : due.Where(c => c.Silo is not null).ToList();
            var probes = due.Except(onKnownSilo).GroupBy(c => c.Router).Select(g => ProbeAsync(g.Key, g.ToList())).ToList();
            if (onKnownSilo.Count > 0)
            {
                probes.Add(WatchSilosAsync(onKnownSilo));
            }

            await Task.WhenAll(probes);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogProbeFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private async Task ProbeAsync(IRouterGrain router, List<RouterCall> calls)
    {
        HashSet<string> running;
        try
        {
            using var timeout = new CancellationTokenSource(ProbeTimeout, _time);
            var answer = await _probe(router, calls.Select(c => c.Context.RequestId).ToArray(), timeout.Token).WaitAsync(ProbeTimeout, _time, timeout.Token);
            running = new HashSet<string>(answer, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogProbeFailed(_logger, ex); // no answer is no evidence: nothing counts as missed
            return;
        }

        foreach (var call in calls)
        {
            if (!ReferenceEquals(call.Router, router))
            {
                continue; // moved to another router while this probe was out: the answer is about the old one
            }

            if (running.Contains(call.Context.RequestId))
            {
                call.Misses = 0;
            }
            else if (++call.Misses >= MissesToLose && _calls.ContainsKey(call))
            {
                LogLost(_logger, call.Context.RequestId, call.Context.TenantId, call.Misses);
                call.MarkLost();
            }
        }
    }

    /// <summary>
    /// Pushed streams whose silo is known are watched through membership rather than probed through their router key:
    /// a stream started while its key's gateway silo was stopping was placed on another silo, which a probe through
    /// the key does not reach. Such a call misses while its silo is dead or unknown to the cluster; a stopping silo
    /// still finishes its streams, so it counts as alive.
    /// </summary>
    private async Task WatchSilosAsync(List<RouterCall> calls)
    {
        Dictionary<SiloAddress, SiloStatus> silos;
        try
        {
            silos = await _silos!().WaitAsync(ProbeTimeout, _time);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogProbeFailed(_logger, ex); // no answer is no evidence: nothing counts as missed
            return;
        }

        foreach (var call in calls)
        {
            if (call.Silo is not { } silo)
            {
                continue; // moved to another router meanwhile
            }

            if (silos.TryGetValue(silo, out var status) && status != SiloStatus.Dead)
            {
                call.Misses = 0;
            }
            else if (++call.Misses >= MissesToLose && _calls.ContainsKey(call))
            {
                LogLost(_logger, call.Context.RequestId, call.Context.TenantId, call.Misses);
                call.MarkLost();
            }
        }
    }

    private static Task<string[]> ProbeAsync(IRouterGrain router, string[] requestIds, CancellationToken cancellationToken) =>
        router.AsReference<IRouterProbeExtension>().RunningAsync(requestIds);

    internal void End(RouterCall call) => _calls.TryRemove(call, out _);

    void IClusterConnectionStatusObserver.NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (_guard && currentNumberOfGateways < previousNumberOfGateways)
        {
            _ = SweepAsync(); // a gateway connection dropped: find out now whether it carried calls
        }
    }

    void IClusterConnectionStatusObserver.NotifyClusterConnectionLost()
    {
        if (_guard)
        {
            _ = SweepAsync();
        }
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} of tenant {TenantId}: its router is gone (missing at {Misses} probes in a row); answering 503")]
    private static partial void LogLost(ILogger logger, string requestId, string tenantId, int misses);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A probe of the routers running this front end's calls did not answer")]
    private static partial void LogProbeFailed(ILogger logger, Exception ex);
}
