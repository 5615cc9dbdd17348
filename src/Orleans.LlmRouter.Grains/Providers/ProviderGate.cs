using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// The silo-local half of the provider state: answers "is this provider available, and may I send this call?" from a
/// snapshot pushed by the provider grain (refreshed when older than <see cref="Staleness"/>) and from rate-limit
/// capacity leased in chunks of about 1/<see cref="LeaseFraction"/> of a minute's budget. A warm silo admits calls with
/// no remote hop; it calls the grain only to renew an exhausted lease, to ask for the half-open probe, and to report
/// failures (successes are reported in batches). Overshoot bound: granted requests and estimated tokens never exceed
/// rpm/tpm in a minute; tokens used above the estimate are charged afterwards, so a minute can exceed tpm by at most
/// the under-estimate of the calls in flight.
/// </summary>
internal sealed partial class ProviderGate : IProviderObserver, IDisposable
{
    public const int LeaseFraction = 20;
    public static readonly TimeSpan Staleness = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Resubscribe = TimeSpan.FromSeconds(30); // well inside the grain's observer TTL (2 min)
    private static readonly TimeSpan SuccessFlush = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SlotRenewal = TimeSpan.FromSeconds(10); // well inside ProviderGrain.SlotLease
    private static readonly TimeSpan LoadReport = TimeSpan.FromSeconds(4); // well inside ProviderGrain.InFlightLease
    private static readonly TimeSpan SlotPoll = TimeSpan.FromMilliseconds(1); // first pause between asks during the slot wait (real time: a latency bound, not a limit's window)
    private static readonly TimeSpan SlotPollMax = TimeSpan.FromMilliseconds(16); // the pause doubles up to this

    /// <summary>This gate's identity as a holder of concurrency slots (one per silo process).</summary>
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private DateTimeOffset _slotsRenewedAt;

    private readonly IGrainFactory _grains;
    private readonly TimeSpan _callTimeout;
    private readonly TimeSpan _slotWait;
    private readonly RouterClock _clock;
    private readonly ILogger<ProviderGate> _logger;
    private readonly ConcurrentDictionary<string, Local> _locals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Provider, string Model, string? Deployment), ProviderDefinition?> _scopes = new();
    private readonly ITimer _flushTimer;
    private readonly SemaphoreSlim _reporting = new(1, 1); // one load report at a time: the grain keeps the last it hears
    private IProviderObserver? _selfReference;

    public ProviderGate(IGrainFactory grains, RouterClock clock, ILogger<ProviderGate> logger, Microsoft.Extensions.Options.IOptions<Routing.RouterOptions>? options = null)
    {
        _callTimeout = options?.Value.GrainCallTimeout ?? new Routing.RouterOptions().GrainCallTimeout;
        _slotWait = options?.Value.SlotWait ?? new Routing.RouterOptions().SlotWait;
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _flushTimer = clock.Time.CreateTimer(_ => _ = TickAsync(), null, SuccessFlush, SuccessFlush);
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
        var local = LocalFor(provider);
        var s = local.Snapshot;
        var now = _clock.UtcNow;
        if (s is null)
        {
            return null;
        }

        if (now - local.SnapshotAt > Staleness)
        {
            _ = RefreshAsync(provider.Id);
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
        var (first, denied) = await AdmitScopeAsync(provider, estimatedTokens);
        if (first is null)
        {
            return (null, denied);
        }

        if (ScopeOf(provider, model) is not { } scope)
        {
            return (new CallPermit(first, null), null);
        }

        var deployment = model.Deployment;
        var (second, deniedByModel) = await AdmitScopeAsync(scope, estimatedTokens);
        if (second is null)
        {
            await ReturnUnusedAsync(first);
            var who = deployment is null ? $"model '{model.Name}' on provider '{provider.Id}'" : $"deployment '{deployment.Id}' of model '{model.Name}'";
            return (null, deniedByModel! with { Reason = deniedByModel.Reason.Replace($"provider '{scope.Id}'", who, StringComparison.Ordinal) });
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

    /// <summary>Hands back a permit whose call was never sent.</summary>
    private async ValueTask ReturnUnusedAsync(ProviderPermit permit)
    {
        var local = LocalFor(permit.Provider);
        if (permit.Counted)
        {
            Interlocked.Decrement(ref local.Active);
        }

        if (permit.HoldsSlot)
        {
            ReleaseSlot(permit.Provider, local);
        }

        if (permit.IsProbe)
        {
            local.Pending.Enqueue(new ProviderOutcome(false, ProviderErrorClass.NotSent, false, 0, true, 0, null));
            await FlushAsync(permit.Provider.Id, local);
        }
    }

    private ProviderDefinition? ScopeOf(ProviderDefinition provider, ModelDefinition model) =>
        model.HasOwnScope ? _scopes.GetOrAdd((provider.Id, model.Name, model.Deployment?.Id), static (_, s) => ModelScopes.For(s.provider, s.model), (provider, model)) : null;

    /// <summary>
    /// What this silo knows of a deployment's load, from local state only: calls in flight cluster-wide (this silo's
    /// exactly, the others' as of the last snapshot), the recent median latency, and the share of this minute's
    /// rpm/tpm left (the scope's own limits). No remote call; the snapshot is at most <see cref="Staleness"/> old
    /// once the deployment is in use (in-flight counts are reported every second or two).
    /// </summary>
    public Core.Routing.DeploymentLoad Load(ProviderDefinition provider, ModelDefinition deployment, decimal estimatedCostUsd)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var weight = deployment.Deployment?.Weight ?? 1;
        if (ScopeOf(provider, deployment) is not { } scope)
        {
            return new(weight, 0, 0, 1, estimatedCostUsd);
        }

        var local = LocalFor(scope);
        local.TracksLoad = true;
        var s = local.Snapshot;
        var mine = Volatile.Read(ref local.Active);
        if (s is null)
        {
            return new(weight, mine, 0, 1, estimatedCostUsd);
        }

        var others = Math.Max(0, s.InFlight - local.ReportedActive);
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
        if (ScopeOf(provider, deployment) is not { } scope || scope.Limits is { RequestsPerMinute: null, TokensPerMinute: null } || !_locals.TryGetValue(scope.Id, out var local))
        {
            return null;
        }

        var now = _clock.UtcNow;
        lock (local)
        {
            if (now < local.LeaseExpires && local.LeaseRequests > 0)
            {
                return null;
            }
        }

        if (local.Snapshot is not { } s || now >= s.MinuteEnds || Headroom(scope.Limits, s) > 0)
        {
            return null;
        }

        var requests = scope.Limits.RequestsPerMinute is { } rpm && s.RequestsThisMinute >= rpm;
        return new($"its rate limit ({(requests ? "rpm" : "tpm")}) is spent for this minute",
            requests ? ProviderErrorClass.RequestsPerMinuteLimit : ProviderErrorClass.TokensPerMinuteLimit, s.MinuteEnds);
    }

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
    /// Reports this silo's calls in flight for every deployment it balances, when the count changed or its report is
    /// about to expire at the grain (also runs on the timer). The answers refresh the load figures of the snapshots.
    /// Reports go one at a time: two sent at once could reach the grain in either order and leave it holding the older
    /// count, which this silo, believing it sent the newer, would not correct.
    /// </summary>
    public async Task ReportLoadAsync()
    {
        await _reporting.WaitAsync();
        try
        {
            await ReportLoadCoreAsync();
        }
        finally
        {
            _reporting.Release();
        }
    }

    private async Task ReportLoadCoreAsync()
    {
        var now = _clock.UtcNow;
        foreach (var (id, local) in _locals)
        {
            if (!local.TracksLoad)
            {
                continue;
            }

            var active = Volatile.Read(ref local.Active);
            if (active == local.ReportedActive && (active == 0 || now - local.LoadReportedAt < LoadReport))
            {
                continue;
            }

            try
            {
                var snapshot = await Bounded(Grain(id).ReportInFlightAsync(_holder, active));
                local.ReportedActive = active;
                local.LoadReportedAt = now;
                Apply(local, snapshot);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogRefreshFailed(_logger, id, ex);
            }
        }
    }

    /// <summary>Admits one upstream request, or returns the reason it may not be sent.</summary>
    public async ValueTask<(ProviderPermit? Permit, string? Denied)> AdmitAsync(ProviderDefinition provider, long estimatedTokens)
    {
        var (permit, refusal) = await AdmitScopeAsync(provider, estimatedTokens);
        return (permit, refusal?.Reason);
    }

    /// <summary>
    /// Admits one upstream request through one scope, or says why not. A limit refuses only when it is reached
    /// cluster-wide as far as leasing can tell: the silo's lease or slots are used up and the grain has none left to
    /// give (see <see cref="TakeRateAsync"/> and <see cref="TakeSlotAsync"/> for the bound).
    /// </summary>
    private async ValueTask<(ProviderPermit? Permit, GateRefusal? Refusal)> AdmitScopeAsync(ProviderDefinition provider, long estimatedTokens)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var local = LocalFor(provider);
        if (local.Snapshot is null || _clock.UtcNow - local.SubscribedAt > Resubscribe)
        {
            await SubscribeAsync(provider.Id, local);
        }

        if (Closed(provider) is { } closed)
        {
            return (null, closed);
        }

        var probe = false;
        if (local.Snapshot!.State != ProviderCircuitState.Closed)
        {
            probe = await Bounded(Grain(provider.Id).TryBeginProbeAsync());
            if (!probe)
            {
                return (null, new GateRefusal($"provider '{provider.Id}' circuit is half-open and its probe is in flight", ProviderErrorClass.Unavailable));
            }
        }

        var slot = false;
        try
        {
            if (await TakeRateAsync(provider, local, estimatedTokens) is { } spent)
            {
                await ReturnUnusedAsync(new ProviderPermit(provider, 0, probe, slot: false));
                var name = spent == ProviderErrorClass.RequestsPerMinuteLimit ? "rpm" : "tpm";
                return (null, new GateRefusal($"provider '{provider.Id}' rate limit ({name}) is spent for this minute", spent, RateWindow.WindowEnd(_clock.UtcNow)));
            }

            if (provider.Limits.MaxConcurrency is { } max)
            {
                if (!await TakeSlotAsync(provider, local, max))
                {
                    await ReturnUnusedAsync(new ProviderPermit(provider, 0, probe, slot: false));
                    return (null, new GateRefusal($"provider '{provider.Id}' is at its max concurrency ({max})", ProviderErrorClass.ConcurrencyLimit));
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

        Interlocked.Increment(ref local.Active);
        return (new ProviderPermit(provider, estimatedTokens, probe, slot) { LeaseExpires = local.LeaseExpires, Counted = true }, null);
    }

    /// <summary>Records how the permitted request ended. Failures, probes and pauses are reported at once.</summary>
    public async ValueTask Complete(ProviderPermit permit, ProviderOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(permit);
        ArgumentNullException.ThrowIfNull(outcome);
        var local = LocalFor(permit.Provider);
        if (permit.Counted)
        {
            Interlocked.Decrement(ref local.Active);
        }

        if (permit.HoldsSlot)
        {
            ReleaseSlot(permit.Provider, local);
        }

        if (outcome.ExtraTokens < 0 && permit.Provider.Limits.TokensPerMinute is not null)
        {
            // The call used less than its estimate: the rest of what it took from this minute's lease is free again.
            lock (local)
            {
                if (_clock.UtcNow < local.LeaseExpires && permit.LeaseExpires == local.LeaseExpires)
                {
                    local.LeaseTokens += -outcome.ExtraTokens;
                }
            }
        }

        if (outcome.Success && !outcome.WasProbe && outcome.RetryAfter is null)
        {
            local.Pending.Enqueue(outcome);
            return;
        }

        local.Pending.Enqueue(outcome);
        await FlushAsync(permit.Provider.Id, local);
    }

    /// <summary>Subscribes to every enabled provider so this silo holds their state before its first call.</summary>
    public async Task WarmUpAsync(IEnumerable<ProviderDefinition> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        foreach (var provider in providers.Where(p => p.Enabled))
        {
            try
            {
                await SubscribeAsync(provider.Id, LocalFor(provider));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogRefreshFailed(_logger, provider.Id, ex); // the first call will subscribe
            }
        }
    }

    /// <summary>Fetches the provider's snapshot now.</summary>
    public async Task RefreshAsync(string providerId)
    {
        try
        {
            var local = _locals[providerId];
            Apply(local, await Bounded(Grain(providerId).GetSnapshotAsync()));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRefreshFailed(_logger, providerId, ex);
        }
    }

    /// <summary>Sends every pending outcome now (also runs on a timer).</summary>
    public async Task FlushAllAsync()
    {
        foreach (var (id, local) in _locals)
        {
            await FlushAsync(id, local);
        }
    }

    /// <summary>
    /// Timer work: sends batched outcomes and renews subscriptions before the provider grain forgets this silo, so
    /// pushes keep arriving at a silo that has not sent a call for a while.
    /// </summary>
    private async Task TickAsync()
    {
        await FlushAllAsync();
        await ReportLoadAsync();
        if (_clock.UtcNow - _slotsRenewedAt >= SlotRenewal)
        {
            _slotsRenewedAt = _clock.UtcNow;
            await RenewSlotsAsync();
        }

        foreach (var (id, local) in _locals)
        {
            if (local.Snapshot is not null && _clock.UtcNow - local.SubscribedAt > Resubscribe)
            {
                local.SubscribedAt = _clock.UtcNow; // one renewal at a time
                try
                {
                    await SubscribeAsync(id, local);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogRefreshFailed(_logger, id, ex);
                }
            }
        }
    }

    /// <summary>Renews the lease of every concurrency slot this silo holds, so the provider grains keep them for it.</summary>
    public async Task RenewSlotsAsync()
    {
        foreach (var (id, local) in _locals)
        {
            if (local.SlotsHeld == 0)
            {
                continue;
            }

            // In turn with refills and give-backs, so the count sent is the one the grain holds for this silo.
            await local.SlotSync.WaitAsync();
            try
            {
                int held;
                lock (local)
                {
                    held = local.SlotsHeld;
                }

                if (held > 0)
                {
                    await Bounded(Grain(id).RenewSlotsAsync(_holder, held));
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogRefreshFailed(_logger, id, ex);
            }
            finally
            {
                local.SlotSync.Release();
            }
        }
    }

    /// <summary>True when no slot refill, give-back or renewal is queued or in flight for any scope (for tests and drains).</summary>
    internal bool SlotTrafficIdle => _locals.Values.All(l => !l.GiveBackQueued && l.SlotSync.CurrentCount == 1 && l.RateSync.CurrentCount == 1);

    /// <summary>The local snapshot, as this silo sees the provider (for health and tests).</summary>
    public ProviderSnapshot? LocalSnapshot(string providerId) => _locals.TryGetValue(providerId, out var l) ? l.Snapshot : null;

    /// <summary>
    /// Read-only view of every scope this silo tracks (providers and models with their own limits), for gauges:
    /// breaker state, calls in flight from this silo and the requests left in its local rate lease.
    /// </summary>
    internal IEnumerable<(string Scope, ProviderCircuitState State, int InFlight, int LeaseRequests)> LocalScopes()
    {
        foreach (var (scope, local) in _locals)
        {
            yield return (scope, local.Snapshot?.State ?? ProviderCircuitState.Closed, local.InFlight, local.LeaseRequests);
        }
    }

    /// <summary>
    /// This silo's totals over every scope: calls admitted and not yet completed, calls holding a concurrency slot, and
    /// slots held from the provider grains (all zero once every call has ended; for the runtime view and soak runs).
    /// </summary>
    internal (int Active, int InFlight, int SlotsHeld) Totals()
    {
        int active = 0, inFlight = 0, slots = 0;
        foreach (var local in _locals.Values)
        {
            active += Volatile.Read(ref local.Active);
            lock (local)
            {
                inFlight += local.InFlight;
                slots += local.SlotsHeld;
            }
        }

        return (active, inFlight, slots);
    }

    Task IProviderObserver.OnSnapshot(ProviderSnapshot snapshot)
    {
        if (_locals.TryGetValue(snapshot.ProviderId, out var local))
        {
            Apply(local, snapshot);
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _flushTimer.Dispose();
        _reporting.Dispose();
    }

    private async Task SubscribeAsync(string providerId, Local local)
    {
        try
        {
            // An object reference cannot be created on a grain's scheduler (the router grain calls us): leave it.
            _selfReference ??= await Task.Run(() => _grains.CreateObjectReference<IProviderObserver>(this));
            Apply(local, await Bounded(Grain(providerId).SubscribeAsync(_selfReference)));
            local.SubscribedAt = _clock.UtcNow;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRefreshFailed(_logger, providerId, ex);
            if (local.Snapshot is null)
            {
                throw;
            }
        }
    }

    /// <summary>
    /// Takes one request and <paramref name="tokens"/> from this silo's rate lease, refilling it from the grain when it
    /// is used up; null when taken, else the limit that is spent. One caller per scope refills at a time
    /// (<see cref="Local.RateSync"/>) and the others take from its lease, so concurrent callers never ask for more than
    /// the silo needs (thirty-two callers each asking a twentieth of a minute used to take the whole minute and refuse
    /// the rest). A lease of an ended minute that arrives after the new minute's is dropped, never put in its place.
    /// Refused only when the grain has nothing left to grant this minute: every request and token of the limit is granted
    /// to a silo — admitted, or at most one lease chunk (1/<see cref="LeaseFraction"/>) unused in each other silo.
    /// </summary>
    private async ValueTask<ProviderErrorClass?> TakeRateAsync(ProviderDefinition provider, Local local, long tokens)
    {
        var limits = provider.Limits;
        if (limits.RequestsPerMinute is null && limits.TokensPerMinute is null)
        {
            return null;
        }

        lock (local)
        {
            if (TryConsume(local, limits, tokens))
            {
                return null;
            }
        }

        await local.RateSync.WaitAsync();
        try
        {
            // Each pass either admits, or is granted something (which callers outside the lock may take first), or ends.
            for (var pass = 0; pass < 64; pass++)
            {
                lock (local)
                {
                    if (TryConsume(local, limits, tokens))
                    {
                        return null;
                    }
                }

                var askRequests = limits.RequestsPerMinute is { } rpm ? Math.Max(1, rpm / LeaseFraction) : 1_000_000;
                var askTokens = limits.TokensPerMinute is { } tpm ? Math.Max(tokens, tpm / LeaseFraction) : Math.Max(tokens, 1);
                var lease = await Bounded(Grain(provider.Id).LeaseAsync(askRequests, askTokens));
                Apply(local, lease.Snapshot);
                lock (local)
                {
                    if (lease.ExpiresAt > local.LeaseExpires)
                    {
                        local.LeaseRequests = 0;
                        local.LeaseTokens = 0;
                        local.LeaseExpires = lease.ExpiresAt;
                    }

                    if (lease.ExpiresAt == local.LeaseExpires)
                    {
                        local.LeaseRequests += lease.Requests;
                        local.LeaseTokens += lease.Tokens;
                    }

                    if (TryConsume(local, limits, tokens))
                    {
                        return null;
                    }
                }

                if (lease.Requests == 0 && lease.ExpiresAt > _clock.UtcNow)
                {
                    return limits.RequestsPerMinute is { } r && lease.Snapshot.RequestsThisMinute >= r
                        ? ProviderErrorClass.RequestsPerMinuteLimit
                        : ProviderErrorClass.TokensPerMinuteLimit;
                }
            }

            return limits.TokensPerMinute is not null ? ProviderErrorClass.TokensPerMinuteLimit : ProviderErrorClass.RequestsPerMinuteLimit;
        }
        finally
        {
            local.RateSync.Release();
        }
    }

    private bool TryConsume(Local local, ProviderLimits limits, long tokens)
    {
        var countTokens = limits.TokensPerMinute is not null;
        if (_clock.UtcNow >= local.LeaseExpires || local.LeaseRequests < 1 || (countTokens && local.LeaseTokens < tokens))
        {
            return false;
        }

        local.LeaseRequests--;
        if (countTokens)
        {
            local.LeaseTokens -= tokens;
        }

        return true;
    }

    /// <summary>Slots asked of the grain at a time: an eighth of the limit (at least one), one when the grain last answered short.</summary>
    internal static int SlotChunk(int max, bool short_) => short_ ? 1 : Math.Max(1, max / 8);

    /// <summary>
    /// Takes a concurrency slot: from the slots this silo holds, else from the grain. The grain is asked by one caller at
    /// a time per scope (<see cref="Local.SlotSync"/>, also taken by give-backs): callers that find the silo's slots in use
    /// wait for that one refill and take from it, so a silo never asks for more than it needs and never reaches the grain
    /// with an ask that overtook its own give-back. When the grain has no slot left to lease it asks the silos holding
    /// slots to give their idle ones back (<see cref="IProviderObserver.OnSlotsWanted"/>), and this silo asks again
    /// within <see cref="Routing.RouterOptions.SlotWait"/>: refused only when, through that wait, every slot of the
    /// cluster stayed held by a call in flight (or by a silo that did not answer in time).
    /// </summary>
    private async ValueTask<bool> TakeSlotAsync(ProviderDefinition provider, Local local, int max)
    {
        if (TryTakeHeldSlot(local))
        {
            return true;
        }

        await local.SlotSync.WaitAsync();
        try
        {
            if (TryTakeHeldSlot(local))
            {
                return true; // the refill another caller was waiting for served this one too
            }

            local.SlotMax = max;
            var want = SlotChunk(max, local.SlotsShort);
            var granted = await Bounded(Grain(provider.Id).AcquireSlotsAsync(_holder, want));
            lock (local)
            {
                local.SlotsHeld += granted;
                local.SlotsShort = granted < want;
            }

            if (TryTakeHeldSlot(local))
            {
                return true;
            }

            // Every slot is leased. The grain has asked the silos holding slots to give back the idle ones; ask again
            // until one comes (or a call of this silo ends), within the bounded wait, before refusing the call.
            var waitStarted = TimeProvider.System.GetTimestamp();
            var pause = SlotPoll;
            while (TimeProvider.System.GetElapsedTime(waitStarted) < _slotWait)
            {
                await Task.Delay(pause, TimeProvider.System);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, SlotPollMax.Ticks));
                if (TryTakeHeldSlot(local))
                {
                    return true;
                }

                var more = await Bounded(Grain(provider.Id).AcquireSlotsAsync(_holder, 1));
                lock (local)
                {
                    local.SlotsHeld += more;
                }

                if (TryTakeHeldSlot(local))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            local.SlotSync.Release();
        }
    }

    private static bool TryTakeHeldSlot(Local local)
    {
        lock (local)
        {
            if (local.InFlight < local.SlotsHeld)
            {
                local.InFlight++;
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// Frees a call's slot. Idle slots go back to the grain when this silo has no call in flight, when it holds more than
    /// two chunks idle (down to one chunk), or when the grain last answered it short (all of them): a silo keeps little
    /// idle capacity, so another silo is not refused for slots nobody uses. The give-back runs in the background, in turn
    /// with this scope's refills.
    /// </summary>
    private void ReleaseSlot(ProviderDefinition provider, Local local)
    {
        var max = provider.Limits.MaxConcurrency ?? 1;
        lock (local)
        {
            local.InFlight--;
            if (local.GiveBackQueued || SlotsToGiveBack(local, max) == 0)
            {
                return;
            }

            local.GiveBackQueued = true;
        }

        _ = GiveBackSlotsAsync(provider.Id, local, max);
    }

    private static int SlotsToGiveBack(Local local, int max)
    {
        var idle = local.SlotsHeld - local.InFlight;
        var chunk = SlotChunk(max, false);
        return local.InFlight == 0 || local.SlotsShort || local.SlotsWanted ? idle : idle > 2 * chunk ? idle - chunk : 0;
    }

    Task IProviderObserver.OnSlotsWanted(string scopeId)
    {
        if (!_locals.TryGetValue(scopeId, out var local))
        {
            return Task.CompletedTask;
        }

        lock (local)
        {
            if (local.GiveBackQueued || local.SlotsHeld - local.InFlight <= 0)
            {
                return Task.CompletedTask;
            }

            local.SlotsWanted = true;
            local.GiveBackQueued = true;
        }

        _ = GiveBackSlotsAsync(scopeId, local, local.SlotMax);
        return Task.CompletedTask;
    }

    private async Task GiveBackSlotsAsync(string providerId, Local local, int max)
    {
        await local.SlotSync.WaitAsync();
        try
        {
            int giveBack;
            lock (local)
            {
                local.GiveBackQueued = false;
                giveBack = SlotsToGiveBack(local, max); // as of now: calls admitted meanwhile keep theirs
                local.SlotsWanted = false;
                local.SlotsHeld -= giveBack;
            }

            if (giveBack > 0)
            {
                await Bounded(Grain(providerId).ReleaseSlotsAsync(_holder, giveBack));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogRefreshFailed(_logger, providerId, ex); // the grain takes them back when this silo's renewals stop counting them
        }
        finally
        {
            local.SlotSync.Release();
        }
    }

    /// <summary>
    /// Sends the outcomes waiting, one flush at a time per scope: a caller that awaits a flush (a failure, a probe's
    /// end) returns once its outcome has reached the grain, even when a timer flush had already taken it into its batch.
    /// </summary>
    private async Task FlushAsync(string providerId, Local local)
    {
        if (local.Pending.IsEmpty && local.Flushing.CurrentCount == 1)
        {
            return;
        }

        await local.Flushing.WaitAsync();
        try
        {
            while (!local.Pending.IsEmpty)
            {
                var batch = new List<ProviderOutcome>();
                while (batch.Count < 1000 && local.Pending.TryDequeue(out var o))
                {
                    batch.Add(o);
                }

                try
                {
                    Apply(local, await Bounded(Grain(providerId).ReportAsync(batch)));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogRefreshFailed(_logger, providerId, ex);
                    return;
                }
            }
        }
        finally
        {
            local.Flushing.Release();
        }
    }

    private void Apply(Local local, ProviderSnapshot snapshot)
    {
        lock (local)
        {
            if (local.Snapshot is null || snapshot.Version >= local.Snapshot.Version)
            {
                local.Snapshot = snapshot;
                local.SnapshotAt = _clock.UtcNow;
            }
        }
    }

    private Local LocalFor(ProviderDefinition provider) => _locals.GetOrAdd(provider.Id, static _ => new Local());

    /// <summary>
    /// A provider grain call that gives up after the router's grain-call timeout (a grain whose silo died answers
    /// nothing until membership declares the silo dead). What it may have granted meanwhile expires at the grain: slot
    /// leases are renewed only for the slots this gate knows, probes are re-granted after the break time.
    /// </summary>
    private Task<T> Bounded<T>(Task<T> call) => call.WaitAsync(_callTimeout, _clock.Time);

    private Task Bounded(Task call) => call.WaitAsync(_callTimeout, _clock.Time);

    private IProviderGrain Grain(string providerId) => _grains.GetProviderScope(providerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider {Provider}: could not reach its provider grain; using the last known state")]
    private static partial void LogRefreshFailed(ILogger logger, string provider, Exception ex);

    private sealed class Local
    {
        public ProviderSnapshot? Snapshot { get; set; }

        public DateTimeOffset SnapshotAt { get; set; }

        public DateTimeOffset SubscribedAt { get; set; }

        public int LeaseRequests { get; set; }

        public long LeaseTokens { get; set; }

        public DateTimeOffset LeaseExpires { get; set; }

        public int SlotsHeld { get; set; }

        /// <summary>True when the grain last gave fewer slots than asked: ask one at a time and keep none idle.</summary>
        public bool SlotsShort { get; set; }

        /// <summary>True when another silo was short of slots: the queued give-back returns every idle slot.</summary>
        public bool SlotsWanted { get; set; }

        /// <summary>The scope's max_concurrency, as of the last refill (for a give-back the grain asked for).</summary>
        public int SlotMax { get; set; } = 1;

        /// <summary>Held by the one caller refilling this scope's rate lease from the grain.</summary>
        public SemaphoreSlim RateSync { get; } = new(1, 1);

        /// <summary>True while a give-back of idle slots waits for its turn.</summary>
        public bool GiveBackQueued { get; set; }

        /// <summary>Taken by every call to the grain about this scope's slots: one refill or give-back at a time, in order.</summary>
        public SemaphoreSlim SlotSync { get; } = new(1, 1);

        public int InFlight { get; set; }

        /// <summary>Calls admitted through this scope from this silo and not yet completed (every call, not only slot holders).</summary>
        public int Active;

        /// <summary>Held while outcomes of this scope are being sent (see <c>FlushAsync</c>).</summary>
        public SemaphoreSlim Flushing { get; } = new(1, 1);

        /// <summary>The <see cref="Active"/> count the grain last heard from this silo (part of the snapshot's cluster-wide sum).</summary>
        public int ReportedActive { get; set; }

        public DateTimeOffset LoadReportedAt { get; set; }

        /// <summary>True for a deployment's scope: its in-flight count is reported for balancing.</summary>
        public bool TracksLoad { get; set; }

        public ConcurrentQueue<ProviderOutcome> Pending { get; } = new();
    }
}
