using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// The silo-local half of the provider state: answers "is this provider available, and may I send this call?" from a
/// snapshot pushed by the provider grain (refreshed when older than <see cref="Staleness"/>), from rate capacity leased
/// for the minute (<see cref="MinuteLease"/>) and from concurrency slots (<see cref="SlotPool"/>); outcomes go back in
/// batches (<see cref="OutcomeQueue"/>). A warm silo admits calls with no remote hop; it calls the grain only to refill
/// a lease or its slots, to ask for the half-open probe, and to report failures at once (successes in batches).
/// Overshoot bound: granted requests and estimated tokens never exceed rpm/tpm in a minute; tokens used above the
/// estimate are charged afterwards, so a minute can exceed tpm by at most the under-estimate of the calls in flight.
/// </summary>
/// <remarks>
/// The gate itself holds no lock: each scope's parts synchronise themselves (see each type), the scopes live in a
/// concurrent dictionary, and background work (flushes, load reports, slot renewals, resubscriptions) runs on one timer.
/// A query (<see cref="Closed(ProviderDefinition)"/>, <see cref="Load"/>, <see cref="SpentLimit"/>) reads local state
/// only and starts no remote call; the timer refreshes a snapshot that is stale and was queried since its last refresh.
/// </remarks>
internal sealed partial class ProviderGate : IProviderObserver, IDisposable
{
    /// <summary>A silo asks the grain for this fraction of a minute's limit at a time.</summary>
    public const int LeaseFraction = MinuteLease.LeaseFraction;

    public static readonly TimeSpan Staleness = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Resubscribe = TimeSpan.FromSeconds(30); // well inside the grain's observer TTL (2 min)
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SlotRenewal = TimeSpan.FromSeconds(10); // well inside ProviderGrain.SlotLease
    private static readonly TimeSpan LoadReport = TimeSpan.FromSeconds(4); // well inside ProviderGrain.InFlightLease

    private readonly ScopeGrains _scopeGrains;
    private readonly IGrainFactory _grains;
    private readonly TimeSpan _slotWait;
    private readonly RouterClock _clock;
    private readonly ILogger<ProviderGate> _logger;
    private readonly ConcurrentDictionary<string, ScopeState> _states = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Provider, string Model, string? Deployment), ProviderDefinition?> _scopes = new();
    private readonly ITimer _timer;
    private readonly SemaphoreSlim _reporting = new(1, 1); // one load report at a time: the grain keeps the last it hears
    private DateTimeOffset _slotsRenewedAt;
    private int _ticking;
    private IProviderObserver? _selfReference;

    public ProviderGate(IGrainFactory grains, RouterClock clock, ILogger<ProviderGate> logger, Microsoft.Extensions.Options.IOptions<Routing.RouterOptions>? options = null)
    {
        var settings = options?.Value ?? new Routing.RouterOptions();
        _scopeGrains = new ScopeGrains(grains, settings.GrainCallTimeout, clock.Time);
        _slotWait = settings.SlotWait;
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _timer = clock.Time.CreateTimer(_ => _ = TickAsync(), null, Tick, Tick);
    }

    /// <summary>Why the provider cannot take calls now, from local state only; null when it can (or may probe).</summary>
    public string? Unavailable(ProviderDefinition provider) => Closed(provider)?.Reason;

    /// <summary>Why <paramref name="model"/> cannot take calls now: its provider's state, then its own scope's.</summary>
    public string? Unavailable(ProviderDefinition provider, ModelDefinition model) => Closed(provider, model)?.Reason;

    /// <summary>
    /// As <see cref="Unavailable(ProviderDefinition, ModelDefinition)"/>, as a refusal with its class: a pause after an
    /// upstream 429 is <see cref="ProviderErrorClass.RateLimited"/> (retryable when it ends), a provider disabled at run
    /// time or an open circuit <see cref="ProviderErrorClass.Unavailable"/>.
    /// </summary>
    public GateRefusal? Closed(ProviderDefinition provider, ModelDefinition model) =>
        Closed(provider) ?? (ScopeOf(provider, model) is { } scope ? Closed(scope) : null);

    /// <summary>As <see cref="Closed(ProviderDefinition, ModelDefinition)"/>, for the provider's own state only.</summary>
    public GateRefusal? Closed(ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var now = _clock.UtcNow;
        var state = StateOf(provider);
        state.MarkQueried();
        if (state.Snapshot is not { } s)
        {
            return null;
        }

        if (s.Disabled)
        {
            return new($"provider '{provider.Id}' is disabled at run time", ProviderErrorClass.Unavailable);
        }

        if (s.PausedUntil is { } paused && paused > now)
        {
            return new($"provider '{provider.Id}' is paused by its rate limit until {paused:O}", ProviderErrorClass.RateLimited, paused);
        }

        if (s.State == ProviderCircuitState.Open && s.OpenUntil is { } until && until > now)
        {
            return new($"provider '{provider.Id}' circuit is open until {until:O}", ProviderErrorClass.Unavailable);
        }

        return null;
    }

    /// <summary>
    /// Admits one upstream request to <paramref name="model"/>: through its provider's scope and, when the model has
    /// its own limits or breaker, through the model's scope too. When the second refuses, the first permit is handed
    /// back (its slot and any probe are released; the request it took from the rate lease is not returned — at most
    /// one per refused call, inside the lease bound).
    /// </summary>
    public async ValueTask<(CallPermit? Permit, string? Denied)> AdmitAsync(ProviderDefinition provider, ModelDefinition model, long estimatedTokens)
    {
        var (permit, refusal) = await AdmitCallAsync(provider, model, estimatedTokens);
        return (permit, refusal?.Reason);
    }

    /// <summary>As <see cref="AdmitAsync(ProviderDefinition, ModelDefinition, long)"/>, with the refusal's class (which limit, or unavailable).</summary>
    public async ValueTask<(CallPermit? Permit, GateRefusal? Refusal)> AdmitCallAsync(ProviderDefinition provider, ModelDefinition model, long estimatedTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (first, denied) = await AdmitScopeAsync(provider, estimatedTokens, provider.Id);
        if (first is null)
        {
            return (null, denied);
        }

        if (ScopeOf(provider, model) is not { } scope)
        {
            return (new CallPermit(first, null), null);
        }

        var deployment = model.Deployment;
        var who = deployment is null ? $"model '{model.Name}' on provider '{provider.Id}'" : $"deployment '{deployment.Id}' of model '{model.Name}'";
        var (second, deniedByModel) = await AdmitScopeAsync(scope, estimatedTokens, who);
        if (second is null)
        {
            await ReturnUnusedAsync(first);
            return (null, deniedByModel);
        }

        return (new CallPermit(first, second, model.Breaker is not null || deployment is not null, deployment is not null), null);
    }

    /// <summary>Records how a call admitted by <see cref="AdmitAsync(ProviderDefinition, ModelDefinition, long)"/> ended, in every scope.</summary>
    public async ValueTask Complete(CallPermit permit, ProviderOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(permit);
        ArgumentNullException.ThrowIfNull(outcome);
        var toProvider = permit.ModelHasBreaker && outcome.CountsAsFailure && outcome.ErrorClass is not (ProviderErrorClass.Connection or ProviderErrorClass.Timeout)
            ? outcome with { CountsAsFailure = false }
            : outcome;
        if (permit.IsDeployment && toProvider.RetryAfter is not null)
        {
            toProvider = toProvider with { RetryAfter = null }; // the deployment's quota, not the provider's
        }

        await Complete(permit.Provider, toProvider with { WasProbe = permit.Provider.IsProbe });
        if (permit.Model is { } model)
        {
            await Complete(model, outcome with { WasProbe = model.IsProbe });
        }
    }

    /// <summary>Admits one upstream request, or returns the reason it may not be sent.</summary>
    public async ValueTask<(ProviderPermit? Permit, string? Denied)> AdmitAsync(ProviderDefinition provider, long estimatedTokens)
    {
        var (permit, refusal) = await AdmitScopeAsync(provider, estimatedTokens, provider.Id);
        return (permit, refusal?.Reason);
    }

    /// <summary>Records how the permitted request ended. Failures, probes and pauses are reported at once.</summary>
    public async ValueTask Complete(ProviderPermit permit, ProviderOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(permit);
        ArgumentNullException.ThrowIfNull(outcome);
        var state = StateOf(permit.Provider);
        if (permit.Counted)
        {
            state.Outcomes.CallEnded();
        }

        if (permit.HoldsSlot)
        {
            state.Slots.Release(permit.Provider.Id, permit.Provider.Limits.MaxConcurrency ?? 1, _scopeGrains, _logger);
        }

        if (outcome.ExtraTokens < 0 && permit.Provider.Limits.TokensPerMinute is not null)
        {
            // The call used less than its estimate: the rest of what it took from this minute's lease is free again.
            state.Rate.Refund(-outcome.ExtraTokens, permit.LeaseExpires, _clock.UtcNow);
        }

        state.Outcomes.Add(outcome);
        if (!outcome.Success || outcome.WasProbe || outcome.RetryAfter is not null)
        {
            await FlushAsync(permit.Provider.Id, state);
        }
    }

    /// <summary>
    /// What this silo knows of a deployment's load, from local state only: calls in flight cluster-wide (this silo's
    /// exactly, the others' as of the last snapshot), the recent median latency, and the share of this minute's
    /// rpm/tpm left (the scope's own limits). No remote call; the snapshot is at most <see cref="Staleness"/> old
    /// once the deployment is in use (running counts are reported every second or two).
    /// </summary>
    public Core.Routing.DeploymentLoad Load(ProviderDefinition provider, ModelDefinition deployment, decimal estimatedCostUsd)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var weight = deployment.Deployment?.Weight ?? 1;
        if (ScopeOf(provider, deployment) is not { } scope)
        {
            return new(weight, 0, 0, 1, estimatedCostUsd);
        }

        var state = StateOf(scope);
        state.Outcomes.ReportsLoad = true;
        var mine = state.Outcomes.Running;
        if (state.Snapshot is not { } s)
        {
            return new(weight, mine, 0, 1, estimatedCostUsd);
        }

        var others = Math.Max(0, s.InFlight - state.Outcomes.ReportedRunning);
        return new(weight, mine + others, s.LatencyP50Ms, Headroom(scope.Limits, s), estimatedCostUsd);
    }

    /// <summary>True when the deployment's own rpm/tpm are spent for this minute, as far as this silo can tell (its lease is empty and the cluster's minute is used up).</summary>
    public bool LimitsSpent(ProviderDefinition provider, ModelDefinition deployment) => SpentLimit(provider, deployment) is not null;

    /// <summary>
    /// As <see cref="LimitsSpent"/>, as a refusal naming the spent limit (<see cref="ProviderErrorClass.RequestsPerMinuteLimit"/>
    /// or <see cref="ProviderErrorClass.TokensPerMinuteLimit"/>) and the end of its minute; null when the deployment can take a call.
    /// </summary>
    public GateRefusal? SpentLimit(ProviderDefinition provider, ModelDefinition deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (ScopeOf(provider, deployment) is not { } scope || scope.Limits is { RequestsPerMinute: null, TokensPerMinute: null } || !_states.TryGetValue(scope.Id, out var state))
        {
            return null;
        }

        var now = _clock.UtcNow;
        if (state.Rate.HoldsRequests(now) || state.Snapshot is not { } s || now >= s.MinuteEnds || Headroom(scope.Limits, s) > 0)
        {
            return null;
        }

        var requests = scope.Limits.RequestsPerMinute is { } rpm && s.RequestsThisMinute >= rpm;
        return new($"its rate limit ({(requests ? "rpm" : "tpm")}) is spent for this minute",
            requests ? ProviderErrorClass.RequestsPerMinuteLimit : ProviderErrorClass.TokensPerMinuteLimit, s.MinuteEnds);
    }

    /// <summary>
    /// Reports this silo's running calls for every deployment it balances, when the count changed or its report is
    /// about to expire at the grain (also runs on the timer). The answers refresh the load figures of the snapshots.
    /// Reports go one at a time: two sent at once could reach the grain in either order and leave it holding the older
    /// count, which this silo, believing it sent the newer, would not correct.
    /// </summary>
    public async Task ReportLoadAsync()
    {
        await _reporting.WaitAsync();
        try
        {
            var now = _clock.UtcNow;
            foreach (var (id, state) in _states)
            {
                var outcomes = state.Outcomes;
                var running = outcomes.Running;
                if (!outcomes.ReportsLoad || (running == outcomes.ReportedRunning && (running == 0 || now - outcomes.RunningReportedAt < LoadReport)))
                {
                    continue;
                }

                try
                {
                    var snapshot = await _scopeGrains.CallAsync(id, g => g.ReportInFlightAsync(_scopeGrains.Holder, running));
                    outcomes.ReportedRunning = running;
                    outcomes.RunningReportedAt = now;
                    state.Apply(snapshot, _clock.UtcNow);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    GateLog.GrainUnreachable(_logger, id, ex);
                }
            }
        }
        finally
        {
            _reporting.Release();
        }
    }

    /// <summary>Subscribes to every enabled provider so this silo holds their state before its first call.</summary>
    public async Task WarmUpAsync(IEnumerable<ProviderDefinition> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        foreach (var provider in providers.Where(p => p.Enabled))
        {
            try
            {
                await SubscribeAsync(provider.Id, StateOf(provider));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                GateLog.GrainUnreachable(_logger, provider.Id, ex); // the first call will subscribe
            }
        }
    }

    /// <summary>Fetches the provider's snapshot now.</summary>
    public async Task RefreshAsync(string providerId)
    {
        try
        {
            var state = _states[providerId];
            state.Apply(await _scopeGrains.CallAsync(providerId, g => g.GetSnapshotAsync()), _clock.UtcNow);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GateLog.GrainUnreachable(_logger, providerId, ex);
        }
    }

    /// <summary>Sends every pending outcome now (also runs on the timer).</summary>
    public async Task FlushAllAsync()
    {
        foreach (var (id, state) in _states)
        {
            await FlushAsync(id, state);
        }
    }

    /// <summary>Renews the lease of every concurrency slot this silo holds, so the provider grains keep them for it.</summary>
    public async Task RenewSlotsAsync()
    {
        foreach (var (id, state) in _states)
        {
            try
            {
                await state.Slots.RenewAsync(id, _scopeGrains);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                GateLog.GrainUnreachable(_logger, id, ex);
            }
        }
    }

    /// <summary>True when no slot refill, give-back or renewal and no lease refill is queued or in flight for any scope (for tests and drains).</summary>
    internal bool SlotTrafficIdle => _states.Values.All(s => s.Slots.Idle && s.Rate.Idle);

    /// <summary>The local snapshot, as this silo sees the provider (for health and tests).</summary>
    public ProviderSnapshot? LocalSnapshot(string providerId) => _states.TryGetValue(providerId, out var s) ? s.Snapshot : null;

    /// <summary>
    /// Read-only view of every scope this silo tracks (providers and models with their own limits), for gauges:
    /// breaker state, slots in use by calls from this silo and the requests left in its local rate lease.
    /// </summary>
    internal IEnumerable<(string Scope, ProviderCircuitState State, int InFlight, int LeaseRequests)> LocalScopes()
    {
        foreach (var (scope, state) in _states)
        {
            yield return (scope, state.Snapshot?.State ?? ProviderCircuitState.Closed, state.Slots.InUse, state.Rate.Requests);
        }
    }

    /// <summary>
    /// This silo's totals over every scope: calls admitted and not yet completed, slots in use by calls, and slots held
    /// from the provider grains (all zero once every call has ended; for the runtime view and soak runs).
    /// </summary>
    internal (int Active, int InFlight, int SlotsHeld) Totals()
    {
        int running = 0, inUse = 0, held = 0;
        foreach (var state in _states.Values)
        {
            running += state.Outcomes.Running;
            inUse += state.Slots.InUse;
            held += state.Slots.Held;
        }

        return (running, inUse, held);
    }

    Task IProviderObserver.OnSnapshot(ProviderSnapshot snapshot)
    {
        if (_states.TryGetValue(snapshot.ProviderId, out var state))
        {
            state.Apply(snapshot, _clock.UtcNow);
        }

        return Task.CompletedTask;
    }

    Task IProviderObserver.OnSlotsWanted(string scopeId)
    {
        if (_states.TryGetValue(scopeId, out var state))
        {
            state.Slots.GiveBackOnRequest(scopeId, _scopeGrains, _logger);
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _timer.Dispose();
        _reporting.Dispose();
    }

    /// <summary>
    /// Admits one upstream request through one scope, or says why not (naming the scope as <paramref name="who"/>). A
    /// limit refuses only when it is reached cluster-wide as far as leasing can tell: the silo's lease or slots are used
    /// up and the grain has none left to give (see <see cref="MinuteLease"/> and <see cref="SlotPool"/> for the bounds).
    /// </summary>
    private async ValueTask<(ProviderPermit? Permit, GateRefusal? Refusal)> AdmitScopeAsync(ProviderDefinition provider, long estimatedTokens, string who)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var state = StateOf(provider);
        if (state.Snapshot is null || _clock.UtcNow - state.SubscribedAt > Resubscribe)
        {
            await SubscribeAsync(provider.Id, state);
        }

        if (Closed(provider) is { } closed)
        {
            return (null, closed with { Reason = Name(closed.Reason, provider, who) });
        }

        var probe = false;
        if (state.Snapshot!.State != ProviderCircuitState.Closed)
        {
            probe = await _scopeGrains.CallAsync(provider.Id, g => g.TryBeginProbeAsync());
            if (!probe)
            {
                return (null, new GateRefusal($"{Who(provider, who)} circuit is half-open and its probe is in flight", ProviderErrorClass.Unavailable));
            }
        }

        var slot = false;
        DateTimeOffset lease;
        try
        {
            (var spent, lease) = await state.Rate.TakeAsync(provider.Id, provider.Limits, estimatedTokens, _scopeGrains, _clock.Time, s => state.Apply(s, _clock.UtcNow));
            if (spent is { } limit)
            {
                await ReturnUnusedAsync(new ProviderPermit(provider, 0, probe, slot: false));
                var name = limit == ProviderErrorClass.RequestsPerMinuteLimit ? "rpm" : "tpm";
                return (null, new GateRefusal($"{Who(provider, who)} rate limit ({name}) is spent for this minute", limit, RateWindow.WindowEnd(_clock.UtcNow)));
            }

            if (provider.Limits.MaxConcurrency is { } max)
            {
                if (!await state.Slots.TakeAsync(provider.Id, max, _scopeGrains, _slotWait))
                {
                    await ReturnUnusedAsync(new ProviderPermit(provider, 0, probe, slot: false));
                    return (null, new GateRefusal($"{Who(provider, who)} is at its max concurrency ({max})", ProviderErrorClass.ConcurrencyLimit));
                }

                slot = true;
            }
        }
        catch (Exception) when (probe)
        {
            // The provider grain could not be reached for a lease or slot: the probe was never sent.
            await ReturnUnusedAsync(new ProviderPermit(provider, 0, probe, slot));
            throw;
        }

        state.Outcomes.CallStarted();
        return (new ProviderPermit(provider, estimatedTokens, probe, slot) { LeaseExpires = lease, Counted = true }, null);
    }

    /// <summary>How a refusal names its scope: the provider's own id, or the model or deployment the scope is for.</summary>
    private static string Who(ProviderDefinition scope, string who) => scope.Id == who ? $"provider '{who}'" : who;

    private static string Name(string reason, ProviderDefinition scope, string who) =>
        scope.Id == who ? reason : who + reason[$"provider '{scope.Id}'".Length..];

    /// <summary>Hands back a permit whose call was never sent.</summary>
    private async ValueTask ReturnUnusedAsync(ProviderPermit permit)
    {
        var state = StateOf(permit.Provider);
        if (permit.Counted)
        {
            state.Outcomes.CallEnded();
        }

        if (permit.HoldsSlot)
        {
            state.Slots.Release(permit.Provider.Id, permit.Provider.Limits.MaxConcurrency ?? 1, _scopeGrains, _logger);
        }

        if (permit.IsProbe)
        {
            state.Outcomes.Add(new ProviderOutcome(false, ProviderErrorClass.NotSent, false, 0, true, 0, null));
            await FlushAsync(permit.Provider.Id, state);
        }
    }

    private ProviderDefinition? ScopeOf(ProviderDefinition provider, ModelDefinition model) =>
        model.HasOwnScope ? _scopes.GetOrAdd((provider.Id, model.Name, model.Deployment?.Id), static (_, s) => ModelScopes.For(s.provider, s.model), (provider, model)) : null;

    private double Headroom(ProviderLimits limits, ProviderSnapshot s)
    {
        if (_clock.UtcNow >= s.MinuteEnds)
        {
            return 1; // a new minute began since the snapshot
        }

        var left = 1.0;
        if (limits.RequestsPerMinute is { } rpm)
        {
            left = Math.Min(left, 1 - ((double)s.RequestsThisMinute / rpm));
        }

        if (limits.TokensPerMinute is { } tpm)
        {
            left = Math.Min(left, 1 - ((double)s.TokensThisMinute / tpm));
        }

        return Math.Max(0, left);
    }

    /// <summary>
    /// Timer work: sends batched outcomes, reports load, renews slot leases, and refreshes stale snapshots and
    /// subscriptions before the provider grain forgets this silo, so pushes keep arriving at a silo that has not sent a
    /// call for a while.
    /// </summary>
    private async Task TickAsync()
    {
        // One tick at a time: a clock that jumps (a paused process, a test's fake clock) fires the timer many times at once.
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            await TickCoreAsync();
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private async Task TickCoreAsync()
    {
        await FlushAllAsync();
        await ReportLoadAsync();
        if (_clock.UtcNow - _slotsRenewedAt >= SlotRenewal)
        {
            _slotsRenewedAt = _clock.UtcNow;
            await RenewSlotsAsync();
        }

        foreach (var (id, state) in _states)
        {
            if (state.Snapshot is null)
            {
                continue;
            }

            if (_clock.UtcNow - state.SubscribedAt > Resubscribe)
            {
                state.SubscribedAt = _clock.UtcNow; // one renewal at a time
                try
                {
                    await SubscribeAsync(id, state);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    GateLog.GrainUnreachable(_logger, id, ex);
                }
            }
            else if (_clock.UtcNow - state.SnapshotAt > Staleness && state.TakeQueried())
            {
                await RefreshAsync(id); // stale and in use: a push may have been lost
            }
        }
    }

    private Task FlushAsync(string scopeId, ScopeState state) =>
        state.Outcomes.FlushAsync(scopeId, _scopeGrains, s => state.Apply(s, _clock.UtcNow), _logger);

    private async Task SubscribeAsync(string providerId, ScopeState state)
    {
        try
        {
            // An object reference cannot be created on a grain's scheduler (the router grain calls us): leave it.
            _selfReference ??= await Task.Run(() => _grains.CreateObjectReference<IProviderObserver>(this));
            var observer = _selfReference;
            state.Apply(await _scopeGrains.CallAsync(providerId, g => g.SubscribeAsync(observer)), _clock.UtcNow);
            state.SubscribedAt = _clock.UtcNow;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GateLog.GrainUnreachable(_logger, providerId, ex);
            if (state.Snapshot is null)
            {
                throw;
            }
        }
    }

    private ScopeState StateOf(ProviderDefinition provider) => _states.GetOrAdd(provider.Id, static _ => new ScopeState());
}
