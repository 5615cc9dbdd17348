using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// The single writer of one tenant's budget. Reserve is pure in-memory arithmetic (one turn, so it cannot race);
/// settle appends the ledger row (group-committed with other settles, which is why the grain is reentrant), then
/// adds the usage. Counters are persisted write-behind (at most one write in flight, on a timer and on deactivation),
/// positioned by the contiguous prefix of tenant sequence numbers they include.
/// </summary>
[Reentrant]
internal sealed partial class TenantBudgetGrain(
    [PersistentState("tenant-budget")] IPersistentState<TenantBudgetState> state,
    ILedger ledger,
    TenantDirectory tenants,
    RouterClock clock,
    IHttpClientFactory http,
    Telemetry.RouterTelemetry telemetry,
    Microsoft.Extensions.Options.IOptions<BudgetOptions> options,
    ILogger<TenantBudgetGrain> logger) : Grain, ITenantBudgetGrain
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);
    private readonly InFlight _inFlight = new();
    private readonly SortedDictionary<long, (long Tokens, decimal Usd, string? RunId, DateTimeOffset At)?> _done = [];
    private readonly BudgetOptions _options = options.Value;
    private string _tenantId = string.Empty;
    private bool _known;
    private BudgetLimits _limits = BudgetLimits.None;
    private decimal _alertThreshold = 0.8m;
    private TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private string? _webhook;
    private ProviderLimits? _rateLimits;
    private RateWindow? _rate;
    private BudgetCounters _live = new();
    private BudgetCounters _prefix = new();
    private long _position;
    private long _nextSeq;
    private bool _dirty;
    private bool _deactivating;
    private bool _superseded;
    private Task _writing = Task.CompletedTask;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = TenantBudgetKeys.TenantOf(this.GetPrimaryKeyString());
        await RefreshLimitsAsync();

        var recount = state.State.RecountPending;
        _prefix = state.State.Counters.ToCounters(clock.UtcNow);
        _position = state.State.Position;
        _nextSeq = state.State.NextSeq;
        if (recount)
        {
            // Counters of two activations cannot be merged: start from nothing and read every row (the alerts that
            // fired stay fired). The next write clears the mark.
            var fired = _prefix.AlertsFired;
            _prefix = new BudgetCounters { AlertsFired = fired };
            _position = 0;
        }

        _prefix.Roll(clock.UtcNow, _zone);
        var caughtUp = 0;
        await foreach (var row in ledger.ReadAfterAsync(_tenantId, recount ? long.MinValue : _position, cancellationToken))
        {
            _prefix.Add(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone);
            _position = Math.Max(_position, row.TenantSeq);
            caughtUp++;
        }

        _nextSeq = Math.Max(_nextSeq, _position + 1);
        _live = _prefix.Clone();
        if (recount)
        {
            LogRecounted(logger, _tenantId, caughtUp, _position);
            _dirty = true;
        }
        else if (caughtUp > 0)
        {
            LogCaughtUp(logger, _tenantId, caughtUp, _position);
            _dirty = true;
        }

        PublishRemaining();
        this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(FlushInterval, FlushInterval) { Interleave = true });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true;
        telemetry.RemoveBudgetRemaining(_tenantId);
        await FlushAsync(cancellationToken);
    }

    public async Task ReserveAsync(string reservationId, long tokens, decimal costUsd, string? runId, bool countsRequest = false)
    {
        await RefreshLimitsAsync(); // a local lookup: limits edited through the admin API apply at once
        if (!_known)
        {
            throw new TenantNotFoundException($"Tenant '{_tenantId}' does not exist.") { TenantId = _tenantId };
        }

        Roll();
        if (_inFlight.TokensOf(reservationId) is not null)
        {
            return; // a repeated reservation (its first answer was lost): already held
        }

        var now = clock.UtcNow;
        if (countsRequest && _rateLimits is { } limits && RateLimited(limits, now, tokens) is { } which)
        {
            var retry = (int)Math.Ceiling((RateWindow.WindowEnd(now) - now).TotalSeconds);
            throw new TenantRateLimitedException($"Rate limit reached for tenant '{_tenantId}': {which} is spent for this minute; retry in {retry} s.")
            {
                TenantId = _tenantId,
                Limit = which,
                RetryAfterSeconds = Math.Max(1, retry),
            };
        }

        if (BudgetRules.Check(_limits, _live, _inFlight, tokens, costUsd, runId) is { } v)
        {
            throw Rejection(v);
        }

        if (countsRequest && _rate is not null)
        {
            _rate.Grant(now, 1, 0); // tokens count while in flight (the reservation), then as used (at settle)
        }

        _inFlight.Add(reservationId, tokens, costUsd, runId, now + _options.ReservationLease);
    }

    public Task<int> RenewAsync(IReadOnlyList<string> reservationIds)
    {
        ArgumentNullException.ThrowIfNull(reservationIds);
        Roll();
        return Task.FromResult(_inFlight.Renew(reservationIds, clock.UtcNow + _options.ReservationLease));
    }

    /// <summary>Which of the tenant's per-minute limits this request would break, if any (nothing is consumed).</summary>
    private string? RateLimited(ProviderLimits limits, DateTimeOffset now, long tokens)
    {
        _rate ??= new RateWindow(limits);
        if (limits.RequestsPerMinute is { } rpm && _rate.RequestsUsedAt(now) + 1 > rpm)
        {
            return "rpm";
        }

        // Tokens this minute: what settled calls actually used, plus what the calls in flight hold (their reservations).
        return limits.TokensPerMinute is { } tpm && _rate.TokensUsedAt(now) + _inFlight.Tokens + tokens > tpm ? "tpm" : null;
    }

    private async ValueTask RefreshLimitsAsync()
    {
        if (await tenants.GetAsync(_tenantId) is { } tenant)
        {
            _known = true;
            _limits = tenant.Budgets;
            _alertThreshold = tenant.SoftAlertThreshold;
            _zone = BudgetCalendar.Zone(tenant.TimeZone);
            _webhook = tenant.AlertWebhook;
            var hasRate = tenant.Limits.RequestsPerMinute is not null || tenant.Limits.TokensPerMinute is not null;
            if (_rateLimits != tenant.Limits)
            {
                _rateLimits = hasRate ? tenant.Limits : null;
                _rate = hasRate ? new RateWindow(tenant.Limits) : null;
            }
        }
        else
        {
            _known = false;
            _limits = BudgetLimits.None;
        }
    }

    public Task ReleaseAsync(string reservationId)
    {
        _inFlight.Remove(reservationId);
        return Task.CompletedTask;
    }

    public async Task<bool> SettleAsync(string? reservationId, UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var seq = _nextSeq++;
        var row = new LedgerRecord
        {
            RequestId = record.RequestId,
            TenantId = _tenantId,
            TenantSeq = seq,
            RunId = record.RunId,
            Tags = record.Tags,
            Action = record.Action,
            Strategy = record.Strategy,
            Provider = record.Provider,
            Model = record.Model,
            Deployment = record.Deployment,
            TraceId = record.TraceId,
            Kind = record.Kind ?? LedgerRecord.ModelCall,
            PromptTokens = record.Usage.PromptTokens,
            CompletionTokens = record.Usage.CompletionTokens,
            CachedTokens = record.Usage.CachedTokens,
            ReasoningTokens = record.Usage.ReasoningTokens,
            CacheWriteTokens = record.Usage.CacheWriteTokens,
            CacheWrite1hTokens = record.Usage.CacheWrite1hTokens,
            UsageEstimated = record.Usage.Estimated,
            CostUsd = record.CostUsd,
            LatencyMs = record.LatencyMs,
            TimeToFirstTokenMs = record.TimeToFirstTokenMs,
            Success = record.Success,
            ErrorClass = record.ErrorClass?.Name(),
            Attempts = record.Attempts,
            StartedAt = record.StartedAt,
            CompletedAt = record.CompletedAt,
        };

        bool inserted;
        try
        {
            inserted = await ledger.AppendAsync(row);
        }
        catch
        {
            Done(seq, null);
            throw;
        }
        finally
        {
            if (reservationId is not null)
            {
                _inFlight.Remove(reservationId);
            }
        }

        if (!inserted)
        {
            Done(seq, null);
            return false;
        }

        Roll();
        _rate?.Charge(clock.UtcNow, row.TotalTokens);
        _live.Add(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone);
        Done(seq, (row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt));
        PublishRemaining();
        foreach (var alert in BudgetRules.CrossedAlerts(_limits, _live, _alertThreshold).ToList())
        {
            _live.AlertsFired.Add(alert.Key);
            LogSoftAlert(logger, _tenantId, alert.Window.Name, alert.Unit.ToString(), alert.Used, alert.Limit);
            if (_webhook is { } url)
            {
                // Off the settle path: an alert must never slow down or fail a call.
                var body = new SoftAlert(_tenantId, alert.Window.Name, alert.Unit.ToString().ToLowerInvariant(), alert.Used, alert.Limit, _alertThreshold, clock.UtcNow);
                _ = Task.Run(() => PostAlertAsync(url, body));
            }
        }

        return true;
    }

    public Task<TenantUsage> GetUsageAsync()
    {
        Roll();
        var windows = BudgetWindows.All.Select(w =>
        {
            var count = _live[w];
            return new WindowUsage(w.Name, w.IsLifetime ? null : count.Key, count.Tokens, count.Usd, _limits.TokenLimit(w.Name), _limits.Limit(w.Name, BudgetUnit.Usd));
        }).ToList();
        var runs = _live.Runs.Select(kv => new WindowUsage(BudgetWindows.Run, kv.Key, kv.Value.Tokens, kv.Value.Usd, _limits.TokenLimit(BudgetWindows.Run), _limits.Limit(BudgetWindows.Run, BudgetUnit.Usd)));
        windows.AddRange(runs);
        return Task.FromResult(new TenantUsage(_tenantId, windows, _inFlight.Count, _inFlight.Tokens, _inFlight.Usd, _position));
    }

    private async Task PostAlertAsync(string url, SoftAlert alert)
    {
        try
        {
            using var client = http.CreateClient(AlertClientName);
            using var response = await client.PostAsJsonAsync(url, alert, AlertJson.Default.SoftAlert);
            if (!response.IsSuccessStatusCode)
            {
                LogWebhookFailed(logger, _tenantId, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            LogWebhookFailed(logger, _tenantId, ex.GetType().Name);
        }
    }

    /// <summary>Name of the HTTP client used for alert webhooks (5 s timeout).</summary>
    public const string AlertClientName = "llmrouter-alerts";

    private void Roll()
    {
        var now = clock.UtcNow;
        _live.Roll(now, _zone);
        _prefix.Roll(now, _zone);
        if (_inFlight.Expire(now) is > 0 and var expired)
        {
            LogReservationsExpired(logger, _tenantId, expired);
        }

        var idleSince = now - _options.RunIdleTimeout;
        if (_live.DropIdleRuns(idleSince) + _prefix.DropIdleRuns(idleSince) > 0)
        {
            _dirty = true;
        }
    }

    /// <summary>Budget left per limited window and unit, for the <c>llmrouter.budget.remaining</c> gauge.</summary>
    private void PublishRemaining()
    {
        if (!_known || !telemetry.BudgetRemainingEnabled)
        {
            return;
        }

        var now = clock.UtcNow;
        var remaining = new List<(string, string, double)>();
        foreach (var window in BudgetWindows.All)
        {
            var count = _live[window];
            var current = window.IsLifetime || count.Key == window.KeyAt(now, _zone); // read only: the next call rolls it
            var usedTokens = current ? count.Tokens : 0;
            var usedUsd = current ? count.Usd : 0;
            if (_limits.TokenLimit(window.Name) is { } tokens)
            {
                remaining.Add((window.Name, "tokens", Math.Max(0, tokens - usedTokens)));
            }

            if (_limits.Limit(window.Name, BudgetUnit.Usd) is { } usd)
            {
                remaining.Add((window.Name, "usd", (double)Math.Max(0, usd - usedUsd)));
            }
        }

        telemetry.PublishBudgetRemaining(_tenantId, remaining);
    }

    /// <summary>Marks a sequence number finished and advances the persisted prefix over every contiguous finished one.</summary>
    private void Done(long seq, (long Tokens, decimal Usd, string? RunId, DateTimeOffset At)? applied)
    {
        _done[seq] = applied;
        while (_done.Remove(_position + 1, out var next))
        {
            _position++;
            if (next is { } n)
            {
                _prefix.Add(n.Tokens, n.Usd, n.RunId, n.At, _zone);
            }
        }

        _prefix.AlertsFired = new HashSet<string>(_live.AlertsFired, StringComparer.Ordinal);
        _dirty = true;
    }

    private Task FlushAsync(CancellationToken cancellationToken)
    {
        if (!_deactivating)
        {
            PublishRemaining(); // a window that rolled over shows its full budget again
        }

        if (!_dirty || !_writing.IsCompleted || _superseded)
        {
            return _writing;
        }

        _dirty = false;

        // A new object each time, never changed after: the storage may serialize it after the write has begun (ADO.NET
        // does, once its connection is open), while settles go on moving the position. Counters and position written
        // together must be those of one instant, or the next activation skips the rows in between.
        state.State = new TenantBudgetState
        {
            Counters = BudgetCountersState.From(_prefix),
            Position = _position,
            NextSeq = _nextSeq,
        };
        _writing = WriteAsync();
        return _writing;
    }

    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            await SupersededAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _dirty = true; // the ledger holds the truth; retry on the next tick
            if (_deactivating)
            {
                // E.g. storage already stopped at shutdown: the next activation catches up from the ledger.
                LogPersistSkipped(logger, _tenantId, ex.GetType().Name);
            }
            else
            {
                LogPersistFailed(logger, _tenantId, ex);
            }
        }
    }

    /// <summary>
    /// The state changed under this activation: another activation of the grain wrote it (a duplicate while the grain
    /// directory moved off a lost silo). Neither holds the other's settles, so the state is marked for a recount from
    /// the ledger and this activation steps down; its settles are in the ledger, and the next activation reads them all.
    /// </summary>
    private async Task SupersededAsync()
    {
        _superseded = true;
        LogSuperseded(logger, _tenantId);
        for (var i = 0; i < 3; i++)
        {
            try
            {
                await state.ReadStateAsync();
                state.State.RecountPending = true;
                await state.WriteStateAsync();
                break;
            }
            catch (Orleans.Storage.InconsistentStateException)
            {
                // Written again meanwhile: read it again.
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogPersistFailed(logger, _tenantId, ex);
                break;
            }
        }

        if (!_deactivating)
        {
            DeactivateOnIdle();
        }
    }

    private BudgetExceededException Rejection(BudgetViolation v)
    {
        var window = v.Window;
        var message = string.Create(CultureInfo.InvariantCulture, $"Budget exceeded for tenant '{_tenantId}': {window} {(v.Unit == BudgetUnit.Tokens ? "token" : "USD")} limit {v.Limit}, used {v.Used}, in flight {v.Reserved}, this call needs {v.Requested}.");
        return v.Unit == BudgetUnit.Tokens
            ? new TokenBudgetExceededException(message) { TenantId = _tenantId, Window = window, Used = (long)v.Used, InFlight = (long)v.Reserved, Limit = (long)v.Limit, Requested = (long)v.Requested }
            : new CostBudgetExceededException(message) { TenantId = _tenantId, Window = window, UsedUsd = v.Used, InFlightUsd = v.Reserved, LimitUsd = v.Limit, RequestedUsd = v.Requested };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: another activation of the budget grain wrote its state; marking it for a recount from the ledger and deactivating")]
    private static partial void LogSuperseded(ILogger logger, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: recounted {Rows} ledger rows after a duplicate activation (position {Position})")]
    private static partial void LogRecounted(ILogger logger, string tenant, int rows, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: {Count} reservations expired (their holder stopped renewing them) and were given back")]
    private static partial void LogReservationsExpired(ILogger logger, string tenant, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: the soft-alert webhook failed ({Reason})")]
    private static partial void LogWebhookFailed(ILogger logger, string tenant, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: caught up {Rows} ledger rows on activation (position {Position})")]
    private static partial void LogCaughtUp(ILogger logger, string tenant, int rows, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant} crossed its soft alert threshold: {Window} {Unit} usage {Used} of limit {Limit}")]
    private static partial void LogSoftAlert(ILogger logger, string tenant, string window, string unit, decimal used, decimal limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: counters not persisted on deactivation ({Error}); the next activation catches up from the ledger")]
    private static partial void LogPersistSkipped(ILogger logger, string tenant, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant}: persisting budget counters failed; will retry (the ledger stays the source of truth)")]
    private static partial void LogPersistFailed(ILogger logger, string tenant, Exception ex);
}
