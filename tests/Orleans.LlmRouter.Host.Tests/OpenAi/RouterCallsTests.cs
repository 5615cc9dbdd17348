using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>
/// The front end's guard against a lost router silo, on a fake clock with a scripted probe: a call the silo reached no
/// longer runs is given up after two missed probes (its token fires, the router is asked to cancel); a running call, a
/// young call and a call whose probe fails are left alone.
/// </summary>
public sealed class RouterCallsTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly FakeRouter[] _routers = Enumerable.Range(0, RouterCalls.RouterKeys).Select(k => new FakeRouter(k)).ToArray();
    private Func<string[], Task<string[]>> _answer = _ => Task.FromResult(Array.Empty<string>());
    private int _probes;

    [Fact]
    public void A_call_missing_from_its_routers_silo_at_two_probes_in_a_row_is_lost_and_cancelled()
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-lost" }, CancellationToken.None);

        _time.Advance(RouterCalls.ProbeInterval); // 1 s old: too young to probe
        Assert.Equal(0, _probes);
        _time.Advance(RouterCalls.ProbeInterval); // 2 s: first miss
        Assert.Equal(1, _probes);
        Assert.False(call.Lost);
        Assert.False(call.Token.IsCancellationRequested);

        _time.Advance(RouterCalls.ProbeInterval); // second miss
        Assert.True(call.Lost);
        Assert.True(call.Token.IsCancellationRequested);
        Assert.Contains("r-lost", ((FakeRouter)call.Router).Cancelled); // and the router is told, in case it still runs
    }

    [Fact]
    public void A_pushed_stream_is_watched_on_the_silo_running_it_not_probed_through_its_router_key()
    {
        // A stream started through a stopping gateway silo was placed on another silo: a probe through its router key
        // finds nothing (this fixture's probe answers nothing), yet the stream runs, and must not be cut for it.
        var silo = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
        var statuses = new Dictionary<SiloAddress, SiloStatus> { [silo] = SiloStatus.Active };
        using var calls = new RouterCalls(k => _routers[k], Probe, _time, NullLogger.Instance, guard: true, () => Task.FromResult(new Dictionary<SiloAddress, SiloStatus>(statuses)));
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-pushed" }, CancellationToken.None);
        call.RunsOn(silo, call.Router);

        for (var i = 0; i < 6; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        statuses[silo] = SiloStatus.ShuttingDown; // a stopping silo finishes its streams
        for (var i = 0; i < 6; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        Assert.Equal(0, _probes);
        Assert.False(call.Lost);

        statuses[silo] = SiloStatus.Dead;
        _time.Advance(RouterCalls.ProbeInterval); // first miss
        Assert.False(call.Lost);
        _time.Advance(RouterCalls.ProbeInterval); // second miss
        Assert.True(call.Lost);
        Assert.True(call.Token.IsCancellationRequested);
    }

    [Fact]
    public void The_silo_of_a_stream_the_call_has_moved_away_from_is_not_taken_as_its_own()
    {
        using var calls = new RouterCalls(k => _routers[k], Probe, _time, NullLogger.Instance, guard: true, () => Task.FromResult(new Dictionary<SiloAddress, SiloStatus>()));
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        var refused = call.Router;
        Assert.True(call.RetryRefused(new Grains.Routing.SiloDrainingException(), pulled: false));
        call.RunsOn(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1), refused); // the refused stream's late word
        Assert.Null(call.Silo);
    }

    [Fact]
    public void A_call_its_router_is_running_is_never_lost()
    {
        _answer = ids => Task.FromResult(ids);
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);

        for (var i = 0; i < 30; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        Assert.True(_probes >= 25);
        Assert.False(call.Lost);
        Assert.False(call.Token.IsCancellationRequested);
    }

    [Fact]
    public void One_answer_that_finds_the_call_resets_its_misses()
    {
        var round = 0;
        _answer = ids => Task.FromResult(++round % 2 == 0 ? ids : []); // missed, found, missed, found…
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);

        for (var i = 0; i < 12; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        Assert.True(round >= 8);
        Assert.False(call.Lost);
    }

    [Fact]
    public void A_probe_that_fails_or_never_answers_proves_nothing()
    {
        _answer = _ => Task.FromException<string[]>(new TimeoutException("no gateway"));
        using var calls = Guarded();
        using var failing = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        Assert.False(failing.Lost);

        _answer = _ => new TaskCompletionSource<string[]>().Task; // hangs: given up after ProbeTimeout
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        Assert.False(failing.Lost);
    }

    [Fact]
    public void A_dropped_gateway_connection_probes_at_once()
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        _time.Advance(RouterCalls.ProbeInterval);
        _time.Advance(RouterCalls.ProbeInterval); // first miss on the timer
        Assert.Equal(1, _probes);
        Assert.False(call.Lost);

        ((IClusterConnectionStatusObserver)calls).NotifyGatewayCountChanged(2, 3, connectionRecovered: false);

        Assert.True(call.Lost); // second miss without waiting for the timer
    }

    [Fact]
    public void A_call_that_ended_is_forgotten_and_the_front_end_spreads_calls_over_every_router_key()
    {
        using var calls = Guarded();
        var begun = Enumerable.Range(0, RouterCalls.RouterKeys).Select(_ => calls.Begin(new RouterContext("t1"), CancellationToken.None)).ToList();
        Assert.Equal(RouterCalls.RouterKeys, begun.Select(c => c.Router).Distinct().Count());
        Assert.Equal(RouterCalls.RouterKeys, calls.Count);

        foreach (var call in begun)
        {
            call.Dispose();
        }

        Assert.Equal(0, calls.Count);
        _time.Advance(RouterCalls.ProbeAfter + RouterCalls.ProbeInterval);
        Assert.Equal(0, _probes);
    }

    [Fact]
    public void Co_hosted_calls_use_router_key_0_and_are_not_probed()
    {
        using var calls = new RouterCalls(k => _routers[k], Probe, _time, NullLogger.Instance, guard: false);
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        Assert.Same(_routers[0], call.Router);
        Assert.Equal(0, calls.Count);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, _probes);
        Assert.False(call.Token.IsCancellationRequested);
    }

    [Fact]
    public void The_caller_going_away_cancels_the_call_and_the_router_but_is_not_a_loss()
    {
        using var calls = Guarded();
        using var aborted = new CancellationTokenSource();
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-abort" }, aborted.Token);

        aborted.Cancel();

        Assert.True(call.Token.IsCancellationRequested);
        Assert.False(call.Lost);
        Assert.Contains("r-abort", ((FakeRouter)call.Router).Cancelled);
    }

    [Fact]
    public async Task A_call_the_cluster_refused_unrun_is_retried_once_through_another_router()
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-refused" }, CancellationToken.None);
        var first = call.Router;
        var seen = new List<IRouterGrain>();
        var answer = await call.InvokeAsync((router, context, ct) =>
        {
            seen.Add(router);
            return seen.Count == 1 ? Task.FromException<int>(new Orleans.Runtime.GatewayTooBusyException()) : Task.FromResult(42);
        });

        Assert.Equal(42, answer);
        Assert.Equal(2, seen.Count);
        Assert.Same(first, seen[0]);
        Assert.NotSame(first, seen[1]);
        Assert.Same(seen[1], call.Router); // probes and the cancellation follow the call to its new router
        Assert.False(call.Lost);
    }

    [Fact]
    public void A_call_moved_to_another_router_gets_the_young_calls_grace_there_before_it_is_probed()
    {
        // The call waited 5 s for a draining silo's refusal, then moves to another router, which has not begun it yet.
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-moved" }, CancellationToken.None);
        _answer = ids => Task.FromResult(ids); // its first router still holds it while the refusal is on its way
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(RouterCalls.ProbeInterval);
        }

        _answer = _ => Task.FromResult(Array.Empty<string>()); // the new router begins it only later
        Assert.True(call.RetryRefused(new Grains.Routing.SiloDrainingException(), pulled: false));
        var probesBefore = _probes;
        _time.Advance(RouterCalls.ProbeInterval); // 1 s on the new router: too young to probe there
        Assert.Equal(probesBefore, _probes);
        Assert.False(call.Lost);
        _time.Advance(RouterCalls.ProbeInterval); // 2 s: probed, first miss
        Assert.False(call.Lost);
        _time.Advance(RouterCalls.ProbeInterval); // second miss: now it is lost
        Assert.True(call.Lost);
    }

    [Fact]
    public async Task A_probe_answer_about_the_router_a_call_has_left_counts_no_miss()
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1") { RequestId = "r-left" }, CancellationToken.None);
        var late = new TaskCompletionSource<string[]>();
        _answer = _ => late.Task;
        _time.Advance(RouterCalls.ProbeInterval * 2); // a probe of its first router goes out and waits
        Assert.Equal(1, _probes);
        Assert.True(call.RetryRefused(new Grains.Routing.SiloDrainingException(), pulled: false));

        late.SetResult([]); // the first router does not run it: true, and no news about the new one
        await Task.Yield();
        Assert.Equal(0, call.Misses);
        Assert.False(call.Lost);
    }

    [Fact]
    public async Task A_second_refusal_is_not_retried_again()
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        var attempts = 0;
        await Assert.ThrowsAsync<Orleans.Runtime.SiloUnavailableException>(() => call.InvokeAsync<int>((_, _, _) =>
        {
            attempts++;
            return Task.FromException<int>(new Orleans.Runtime.SiloUnavailableException());
        }));
        Assert.Equal(2, attempts);
    }

    [Theory]
    [InlineData("timeout")] // the call may have run: its outcome is unknown
    [InlineData("cluster")] // the router gave up on a grain: it may have sent upstream already
    public async Task A_failure_that_does_not_prove_the_router_never_ran_is_not_retried(string kind)
    {
        using var calls = Guarded();
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        var attempts = 0;
        Exception error = kind == "timeout" ? new TimeoutException() : new ClusterUnavailableException("budget grain unreachable");
        await Assert.ThrowsAnyAsync<Exception>(() => call.InvokeAsync<int>((_, _, _) =>
        {
            attempts++;
            return Task.FromException<int>(error);
        }));
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Co_hosted_calls_are_not_retried()
    {
        using var calls = new RouterCalls(k => _routers[k], Probe, _time, NullLogger.Instance, guard: false);
        using var call = calls.Begin(new RouterContext("t1"), CancellationToken.None);
        var attempts = 0;
        await Assert.ThrowsAsync<Orleans.Runtime.SiloUnavailableException>(() => call.InvokeAsync<int>((_, _, _) =>
        {
            attempts++;
            return Task.FromException<int>(new Orleans.Runtime.SiloUnavailableException());
        }));
        Assert.Equal(1, attempts);
    }

    private RouterCalls Guarded() => new(k => _routers[k], Probe, _time, NullLogger.Instance, guard: true);

    private Task<string[]> Probe(IRouterGrain router, string[] ids, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _probes);
        return _answer(ids);
    }

    private sealed class FakeRouter(int key) : IRouterGrain
    {
        public int Key { get; } = key;

        public List<string> Cancelled { get; } = [];

        public Task<bool> CancelAsync(string requestId, string tenantId)
        {
            lock (Cancelled)
            {
                Cancelled.Add(requestId);
            }

            return Task.FromResult(true);
        }

        public Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RouterContext context, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<RouteExplanation> ExplainAsync(ChatRequest request, RouterContext context) => throw new NotSupportedException();

        public IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task StreamToAsync(ChatRequest request, RouterContext context, IChatStreamObserver observer, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
