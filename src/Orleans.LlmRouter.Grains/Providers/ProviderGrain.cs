using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// The single owner of one provider's breaker, limits, pause and enablement for the whole cluster. Thin: the state
/// machines live in Core (<see cref="CircuitBreaker"/>, <see cref="RateWindow"/>). Storage is written only on state
/// transitions and never on a request's path; a storage failure is logged, not thrown.
/// </summary>
internal sealed partial class ProviderGrain(
    [PersistentState("provider-control")] IPersistentState<ProviderControlState> control,
    ModelCatalog catalog,
    ProviderRegistry adapters,
    RouterClock clock,
    ILogger<ProviderGrain> logger) : Grain, IProviderGrain
{
    private static readonly TimeSpan ObserverTtl = TimeSpan.FromMinutes(2);

    /// <summary>How long a holder's concurrency slots stay leased without a renewal (holders renew every few seconds).</summary>
    public static readonly TimeSpan SlotLease = TimeSpan.FromSeconds(30);

    /// <summary>How long a holder's reported in-flight count stands without a new report (gates report every second or two).</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, (int Count, DateTimeOffset ExpiresAt)> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, DateTimeOffset ExpiresAt)> _inFlight = new(StringComparer.Ordinal);
    private double _latencyP50;
    private readonly Dictionary<IProviderObserver, DateTimeOffset> _observers = [];

    /// <summary>True from a short slot grant's ask to the holders until a release or a full grant (one ask at a time).</summary>
    private bool _slotsWanted;
    private ProviderDefinition _provider = null!;
    private CircuitBreaker _breaker = null!;
    private RateWindow _window = null!;
    private readonly LatencyTracker _latency = new();
    private long _version;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = this.GetPrimaryKeyString();
        _provider = catalog.ResolveScope(id) ?? throw new InvalidOperationException($"Provider (or model scope) '{id}' is not in the catalog.");
        _breaker = new CircuitBreaker(_provider.Breaker);
        _window = new RateWindow(_provider.Limits);
        if (control.RecordExists)
        {
            _breaker.Restore(control.State.State, control.State.OpenUntil);
        }

        _version = clock.UtcNow.ToUnixTimeMilliseconds() * 1000;
        if (_provider.HealthCheckInterval is { } every && _provider.Enabled)
        {
            this.RegisterGrainTimer(ProbeHealthAsync, new GrainTimerCreationOptions(every, every) { KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    /// <summary>Active health check: a cheap probe whose outcome feeds the breaker like a real call.</summary>
    private async Task ProbeHealthAsync(CancellationToken cancellationToken)
    {
        var probe = _breaker.State != ProviderCircuitState.Closed && _breaker.TryBeginProbe(clock.UtcNow);
        if (_breaker.State != ProviderCircuitState.Closed && !probe)
        {
            return;
        }

        ProviderOutcome outcome;
        try
        {
            var result = await adapters.Get(_provider.Id).CheckHealthAsync(cancellationToken);
            outcome = new ProviderOutcome(result.Healthy, result.Healthy ? null : ProviderErrorClass.Server, !result.Healthy, result.Latency.TotalMilliseconds, probe, 0, null);
        }
        catch (ProviderException ex)
        {
            outcome = new ProviderOutcome(false, ex.ErrorClass, ex.CountsAgainstProvider, 0, probe, 0, null);
        }

        await ReportAsync([outcome]);
    }

    public Task<ProviderSnapshot> GetSnapshotAsync() => Task.FromResult(Snapshot());

    public async Task<ProviderSnapshot> ReportAsync(IReadOnlyList<ProviderOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var before = (_breaker.State, control.State.PausedUntil);
        var now = clock.UtcNow;
        foreach (var o in outcomes)
        {
            if (o.IsNoVerdict)
            {
                // Never sent, or its caller went away before an answer: says nothing about the provider. A probe is
                // given back so the next caller may probe at once (a cancelled probe must not close the breaker).
                if (o.WasProbe)
                {
                    _breaker.ReleaseProbe();
                }

                continue;
            }

            if (o.ExtraTokens > 0)
            {
                _window.Charge(now, o.ExtraTokens);
            }

            if (o.Success)
            {
                _latency.Add(o.LatencyMs);
                _breaker.RecordSuccess(now, o.WasProbe);
            }
            else if (o.WasProbe && !o.CountsAsFailure)
            {
                // The probe got an answer (e.g. a 400): the provider is reachable again.
                _breaker.RecordSuccess(now, wasProbe: true);
            }
            else if (o.CountsAsFailure)
            {
                _breaker.RecordFailure(now, o.ErrorClass?.Name() ?? "unknown", o.WasProbe);
            }

            if (o.RetryAfter is { } after && after > TimeSpan.Zero)
            {
                var until = now + after;
                if (control.State.PausedUntil is not { } current || until > current)
                {
                    control.State.PausedUntil = until;
                }
            }
        }

        if (outcomes.Any(o => o.Success))
        {
            _latencyP50 = _latency.Percentile(50);
        }

        if (before != (_breaker.State, control.State.PausedUntil))
        {
            if (before.State != _breaker.State)
            {
                LogBreaker(logger, _provider.Id, before.State.ToString(), _breaker.State.ToString());
            }

            await ChangedAsync();
        }

        return Snapshot();
    }

    public Task<RateLease> LeaseAsync(int requests, long tokens)
    {
        var now = clock.UtcNow;
        var (r, t) = _window.Grant(now, Math.Max(0, requests), Math.Max(0, tokens));
        return Task.FromResult(new RateLease(r, t, RateWindow.WindowEnd(now), Snapshot()));
    }

    public Task<int> AcquireSlotsAsync(string holder, int count)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var now = clock.UtcNow;
        ReclaimExpiredSlots(now);
        var leased = SlotsLeased;
        var granted = _provider.Limits.MaxConcurrency is { } max ? Math.Clamp(max - leased, 0, Math.Max(0, count)) : Math.Max(0, count);
        if (granted > 0)
        {
            var held = _slots.GetValueOrDefault(holder).Count;
            _slots[holder] = (held + granted, now + SlotLease);
        }

        if (granted == count)
        {
            _slotsWanted = false;
        }
        else if (!_slotsWanted && _slots.Any(kv => kv.Key != holder && kv.Value.Count > 0))
        {
            // Short while other silos hold slots, some maybe idle: ask them once to give idle ones back (until a release
            // or a full grant shows the ask was heard); the asking silo asks again within its bounded wait.
            _slotsWanted = true;
            foreach (var observer in _observers.Keys)
            {
                _ = observer.OnSlotsWanted(_provider.Id);
            }
        }

        return Task.FromResult(granted);
    }

    public Task<ProviderSnapshot> ReportInFlightAsync(string holder, int inFlight)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var now = clock.UtcNow;
        if (inFlight > 0)
        {
            _inFlight[holder] = (inFlight, now + InFlightLease);
        }
        else
        {
            _inFlight.Remove(holder);
        }

        return Task.FromResult(Snapshot());
    }

    /// <summary>Calls in flight cluster-wide: the unexpired counts the holders reported.</summary>
    private int InFlightNow(DateTimeOffset now)
    {
        var sum = 0;
        List<string>? expired = null;
        foreach (var (holder, count) in _inFlight)
        {
            if (count.ExpiresAt <= now)
            {
                (expired ??= []).Add(holder);
            }
            else
            {
                sum += count.Count;
            }
        }

        foreach (var holder in expired ?? [])
        {
            _inFlight.Remove(holder);
        }

        return sum;
    }

    public Task ReleaseSlotsAsync(string holder, int count)
    {
        ArgumentNullException.ThrowIfNull(holder);
        _slotsWanted = false;
        if (_slots.TryGetValue(holder, out var held))
        {
            var left = held.Count - Math.Max(0, count);
            if (left > 0)
            {
                _slots[holder] = (left, held.ExpiresAt);
            }
            else
            {
                _slots.Remove(holder);
            }
        }

        return Task.CompletedTask;
    }

    public Task RenewSlotsAsync(string holder, int held)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var now = clock.UtcNow;
        if (held <= 0)
        {
            _slots.Remove(holder);
        }
        else if (_slots.TryGetValue(holder, out var lease))
        {
            // The holder says how many it still holds; it never gains slots by renewing.
            _slots[holder] = (Math.Min(lease.Count, held), now + SlotLease);
        }

        ReclaimExpiredSlots(now);
        return Task.CompletedTask;
    }

    private int SlotsLeased => _slots.Values.Sum(s => s.Count);

    /// <summary>Takes back the slots of holders that stopped renewing (their silo died or lost contact).</summary>
    private void ReclaimExpiredSlots(DateTimeOffset now)
    {
        foreach (var (holder, lease) in _slots.Where(kv => kv.Value.ExpiresAt <= now).ToList())
        {
            _slots.Remove(holder);
            LogSlotsReclaimed(logger, _provider.Id, lease.Count);
        }
    }

    public async Task<bool> TryBeginProbeAsync()
    {
        var before = _breaker.State;
        var granted = _breaker.TryBeginProbe(clock.UtcNow);
        if (before != _breaker.State)
        {
            LogBreaker(logger, _provider.Id, before.ToString(), _breaker.State.ToString());
            await ChangedAsync();
        }

        return granted;
    }

    private int HealthSlots()
    {
        ReclaimExpiredSlots(clock.UtcNow);
        return SlotsLeased;
    }

    public Task<ProviderHealth> GetHealthAsync()
    {
        var s = Snapshot();
        return Task.FromResult(new ProviderHealth(
            _provider.Id, s.State, s.Disabled, s.OpenUntil, s.PausedUntil,
            _breaker.TotalSuccesses, _breaker.TotalFailures, _breaker.LastFailureAt, _breaker.LastFailureClass,
            _latency.Percentile(50), _latency.Percentile(95), _window.RequestsUsed, _window.TokensUsed, HealthSlots()));
    }

    public async Task<ProviderSnapshot> SetEnabledAsync(bool enabled)
    {
        if (control.State.Disabled == !enabled)
        {
            return Snapshot();
        }

        control.State.Disabled = !enabled;
        await ChangedAsync();
        return Snapshot();
    }

    public Task<ProviderSnapshot> SubscribeAsync(IProviderObserver observer)
    {
        var now = clock.UtcNow;
        _observers[observer] = now;
        foreach (var stale in _observers.Where(kv => now - kv.Value > ObserverTtl).Select(kv => kv.Key).ToList())
        {
            _observers.Remove(stale);
        }

        return Task.FromResult(Snapshot());
    }

    private ProviderSnapshot Snapshot()
    {
        var now = clock.UtcNow;
        var paused = control.State.PausedUntil is { } p && p > now ? p : (DateTimeOffset?)null;
        // Every snapshot is newer than the one before (its load figures change with every lease), so a gate never lets
        // an older one that arrives late (a push, a lease's answer) replace a newer one; a new activation starts above.
        _version = Math.Max(_version + 1, now.ToUnixTimeMilliseconds() * 1000);
        return new ProviderSnapshot(_provider.Id, _breaker.State, _breaker.OpenUntil, paused, control.State.Disabled, _version)
        {
            InFlight = InFlightNow(now),
            LatencyP50Ms = _latencyP50,
            RequestsThisMinute = _window.RequestsUsedAt(now),
            TokensThisMinute = _window.TokensUsedAt(now),
            MinuteEnds = RateWindow.WindowEnd(now),
        };
    }

    private async Task ChangedAsync()
    {
        control.State.State = _breaker.State;
        control.State.OpenUntil = _breaker.OpenUntil;
        var snapshot = Snapshot();
        foreach (var observer in _observers.Keys.ToList())
        {
            try
            {
                await observer.OnSnapshot(snapshot);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _observers.Remove(observer);
            }
        }

        try
        {
            await control.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStorageFailed(logger, _provider.Id, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider}: reclaimed {Slots} concurrency slots whose holder stopped renewing them")]
    private static partial void LogSlotsReclaimed(ILogger logger, string provider, int slots);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider} circuit {From} -> {To}")]
    private static partial void LogBreaker(ILogger logger, string provider, string from, string to);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider {Provider}: persisting control state failed; in-memory state stays authoritative")]
    private static partial void LogStorageFailed(ILogger logger, string provider, Exception ex);
}
