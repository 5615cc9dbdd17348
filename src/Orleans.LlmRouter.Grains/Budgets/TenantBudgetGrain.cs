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
    private readonly SortedDictionary<long, Settled?> _done = [];
    private readonly LevelAccounts _levels = new();
    private readonly BudgetOptions _options = options.Value;
    private string _tenantId = string.Empty;
    private BudgetAccount _tenant = new(BudgetLevels.Tenant, string.Empty);
    private TenantDefinition? _definition;
    private bool _known;
    private BudgetAlerts _alerts = null!;
    private TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private long _position;
    private long _nextSeq;
    private long _epoch;
    private bool _dirty;
    private bool _deactivating;
    private bool _superseded;
    private Task _writing = Task.CompletedTask;

    /// <summary>A settled row's usage and the level accounts it counts in, kept until its sequence number joins the prefix.</summary>
    private sealed record Settled(long Tokens, decimal Usd, string? RunId, DateTimeOffset At, BudgetAccount[] Levels);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenantId = TenantBudgetKeys.TenantOf(this.GetPrimaryKeyString());
        _tenant = new BudgetAccount(BudgetLevels.Tenant, _tenantId);
        _alerts = new BudgetAlerts(_tenantId, http, () => clock.UtcNow, logger);
        var now = clock.UtcNow;
        var recount = state.State.RecountPending;
        _tenant.Prefix = state.State.Counters.ToCounters(now);
        _position = state.State.Position;
        _nextSeq = state.State.NextSeq;
        foreach (var (key, level) in state.State.Levels)
        {
            var account = _levels.Restore(key, level.FromSeq);
            account.Prefix = level.Counters.ToCounters(now);
            account.LastUsedAt = level.LastUsedAt;
        }

        if (recount)
        {
            // Counters of two activations cannot be merged: start from nothing and read every row (the alerts that
            // fired stay fired). The next write clears the mark.
            foreach (var account in Accounts())
            {
                account.Prefix = new BudgetCounters { AlertsFired = account.Prefix.AlertsFired };
            }

            _position = 0;
        }

        // Levels defined since the state was written count the rows after its position (those the catch-up reads).
        await RefreshLimitsAsync(_position + 1);
        foreach (var account in Accounts())
        {
            account.Prefix.Roll(now, _zone);
        }

        // Fence off every earlier activation before reading: a row it appends from now on is refused (and settled again
        // through this one), so none lands after the read below unread and uncounted.
        _epoch = await ledger.FenceAsync(_tenantId, cancellationToken);
        var caughtUp = 0;
        await foreach (var row in ledger.ReadAfterAsync(_tenantId, recount ? long.MinValue : _position, cancellationToken))
        {
            _tenant.Prefix.Add(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone);
            foreach (var level in _levels.Of(row))
            {
                level.Prefix.Add(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone);
                level.LastUsedAt = level.LastUsedAt is { } last && last > row.CompletedAt ? last : row.CompletedAt;
            }

            _position = Math.Max(_position, row.TenantSeq);
            caughtUp++;
        }

        _nextSeq = Math.Max(_nextSeq, _position + 1);
        foreach (var account in Accounts())
        {
            account.Live = account.Prefix.Clone();
        }

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

    public Task ReserveAsync(string reservationId, long tokens, decimal costUsd, string? runId, bool countsRequest = false) =>
        ReserveAsync(reservationId, tokens, costUsd, runId, countsRequest, BudgetPath.None);

    public async Task ReserveAsync(string reservationId, long tokens, decimal costUsd, string? runId, bool countsRequest, BudgetPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ThrowIfReplaced();
        await RefreshLimitsAsync(_nextSeq); // a local lookup: limits edited through the admin API apply at once
        if (!_known)
        {
            throw new TenantNotFoundException($"Tenant '{_tenantId}' does not exist.") { TenantId = _tenantId };
        }

        Roll();
        if (_tenant.InFlight.TokensOf(reservationId) is not null)
        {
            return; // a repeated reservation (its first answer was lost): already held
        }

        var now = clock.UtcNow;
        var levels = _levels.Of(path);
        foreach (var level in levels)
        {
            RollLevel(level, now);
        }

        // Every level is checked before any holds: a refusal at one level holds nothing at the others.
        if (countsRequest)
        {
            CheckRate(_tenant, now, tokens);
            foreach (var level in levels)
            {
                CheckRate(level, now, tokens);
            }
        }

        if (_tenant.Check(tokens, costUsd, runId) is { } v)
        {
            throw Rejection(_tenant, v);
        }

        foreach (var level in levels)
        {
            if (level.Check(tokens, costUsd, runId) is { } lv)
            {
                throw Rejection(level, lv);
            }
        }

        var expires = now + _options.ReservationLease;
        _tenant.Hold(reservationId, tokens, costUsd, runId, countsRequest, now, expires);
        foreach (var level in levels)
        {
            level.Hold(reservationId, tokens, costUsd, runId, countsRequest, now, expires);
        }

        _levels.Held(reservationId, levels);
    }

    public Task<int> RenewAsync(IReadOnlyList<string> reservationIds)
    {
        ArgumentNullException.ThrowIfNull(reservationIds);
        Roll();
        var until = clock.UtcNow + _options.ReservationLease;
        _levels.Renew(reservationIds, until);

        return Task.FromResult(_tenant.InFlight.Renew(reservationIds, until));
    }

    private void CheckRate(BudgetAccount account, DateTimeOffset now, long tokens)
    {
        if (account.RateLimited(now, tokens) is { } which)
        {
            var retry = (int)Math.Ceiling((RateWindow.WindowEnd(now) - now).TotalSeconds);
            throw new TenantRateLimitedException($"Rate limit reached for {Who(account)}: {which} is spent for this minute; retry in {retry} s.")
            {
                TenantId = _tenantId,
                Limit = which,
                RetryAfterSeconds = Math.Max(1, retry),
                Level = account.Level,
                LevelId = account.Id,
            };
        }
    }

    /// <summary>Reads the tenant's definition (a local lookup); levels defined since the last read count rows from <paramref name="fromSeq"/>.</summary>
    private async ValueTask RefreshLimitsAsync(long fromSeq)
    {
        if (await tenants.GetAsync(_tenantId) is { } tenant)
        {
            _known = true;
            if (ReferenceEquals(tenant, _definition))
            {
                return;
            }

            _definition = tenant;
            _alerts.Defaults = (tenant.SoftAlertThreshold, tenant.AlertWebhook);
            _zone = BudgetCalendar.Zone(tenant.TimeZone);
            _tenant.Configure(tenant.Budgets, tenant.Limits, null, null);
            _dirty |= _levels.Define(tenant, fromSeq, clock.UtcNow, _zone);
        }
        else
        {
            _known = false;
            _definition = null;
            _tenant.Configure(BudgetLimits.None, ProviderLimits.Unlimited, null, null);
        }
    }

    private IEnumerable<BudgetAccount> Accounts() => _levels.All.Prepend(_tenant);

    public Task ReleaseAsync(string reservationId)
    {
        Drop(reservationId);
        return Task.CompletedTask;
    }

    private void Drop(string reservationId)
    {
        _tenant.InFlight.Remove(reservationId);
        _levels.Drop(reservationId);
    }

    public async Task<bool> SettleAsync(string? reservationId, UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ThrowIfReplaced();
        var seq = _nextSeq++;
        var row = LedgerRows.From(record, _tenantId, seq, _epoch);
        bool inserted;
        try
        {
            inserted = await ledger.AppendAsync(row);
        }
        catch (LedgerFencedException)
        {
            Done(seq, null);
            Replaced();
            throw ReplacedError();
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
                Drop(reservationId);
            }
        }

        if (!inserted)
        {
            Done(seq, null);
            return false;
        }

        Roll();
        var now = clock.UtcNow;
        var levels = _levels.Of(row);
        _tenant.Settled(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone, now);
        foreach (var level in levels)
        {
            RollLevel(level, now);
            level.Settled(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, _zone, now);
        }

        Done(seq, new Settled(row.TotalTokens, row.CostUsd, row.RunId, row.CompletedAt, levels));
        PublishRemaining();
        _alerts.Raise(_tenant, Who(_tenant));
        foreach (var level in levels)
        {
            _alerts.Raise(level, Who(level));
        }

        return true;
    }

    public Task<TenantUsage> GetUsageAsync()
    {
        Roll();
        var now = clock.UtcNow;
        var levels = _levels.All.Select(level =>
        {
            RollLevel(level, now);
            return new LevelUsage(level.Level, level.Id, level.Windows(), level.InFlight.Count, level.InFlight.Tokens, level.InFlight.Usd)
            {
                FromSeq = level.FromSeq,
                LastUsedAt = level.LastUsedAt,
            };
        }).ToList();
        return Task.FromResult(new TenantUsage(_tenantId, _tenant.Windows(), _tenant.InFlight.Count, _tenant.InFlight.Tokens, _tenant.InFlight.Usd, _position) { Levels = levels });
    }

    private void Roll()
    {
        var now = clock.UtcNow;
        List<string>? expired = _levels.AnyHeld ? [] : null;
        var (count, dropped) = _tenant.Roll(now, _zone, now - _options.RunIdleTimeout, expired);
        if (count > 0)
        {
            LogReservationsExpired(logger, _tenantId, count);
            foreach (var id in expired ?? [])
            {
                Drop(id); // its holds at the levels below expire with it
            }
        }

        _dirty |= dropped;
    }

    private void RollLevel(BudgetAccount level, DateTimeOffset now) =>
        _dirty |= level.Roll(now, _zone, now - _options.RunIdleTimeout, null).Dropped;

    /// <summary>How a message names an account: <c>tenant 't'</c> or <c>project 'p' of tenant 't'</c>.</summary>
    private string Who(BudgetAccount account) => account.Level == BudgetLevels.Tenant
        ? $"tenant '{_tenantId}'"
        : $"{account.Level.Replace('_', ' ')} '{account.Id}' of tenant '{_tenantId}'";

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
            var count = _tenant.Live[window];
            var current = window.IsLifetime || count.Key == window.KeyAt(now, _zone); // read only: the next call rolls it
            var usedTokens = current ? count.Tokens : 0;
            var usedUsd = current ? count.Usd : 0;
            if (_tenant.Limits.TokenLimit(window.Name) is { } tokens)
            {
                remaining.Add((window.Name, "tokens", Math.Max(0, tokens - usedTokens)));
            }

            if (_tenant.Limits.Limit(window.Name, BudgetUnit.Usd) is { } usd)
            {
                remaining.Add((window.Name, "usd", (double)Math.Max(0, usd - usedUsd)));
            }
        }

        telemetry.PublishBudgetRemaining(_tenantId, remaining);
    }

    /// <summary>Marks a sequence number finished and advances the persisted prefix over every contiguous finished one.</summary>
    private void Done(long seq, Settled? applied)
    {
        _done[seq] = applied;
        while (_done.Remove(_position + 1, out var next))
        {
            _position++;
            if (next is { } n)
            {
                _tenant.Prefix.Add(n.Tokens, n.Usd, n.RunId, n.At, _zone);
                foreach (var level in n.Levels)
                {
                    level.Prefix.Add(n.Tokens, n.Usd, n.RunId, n.At, _zone);
                    level.Prefix.AlertsFired = new HashSet<string>(level.Live.AlertsFired, StringComparer.Ordinal);
                }
            }
        }

        _tenant.Prefix.AlertsFired = new HashSet<string>(_tenant.Live.AlertsFired, StringComparer.Ordinal);
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
            Counters = BudgetCountersState.From(_tenant.Prefix),
            Position = _position,
            NextSeq = _nextSeq,
            Levels = _levels.Snapshot(),
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

    private void ThrowIfReplaced()
    {
        if (_superseded)
        {
            throw ReplacedError();
        }
    }

    private BudgetGrainReplacedException ReplacedError() => new($"The budget of tenant '{_tenantId}' moved to a newer activation; nothing was recorded by this call: repeat it.") { TenantId = _tenantId };

    /// <summary>
    /// A newer activation raised the ledger's fence: this one's counters miss that activation's rows, and its appends
    /// are refused. It steps down without writing its state (the newer one holds every row this one appended).
    /// </summary>
    private void Replaced()
    {
        if (!_superseded)
        {
            _superseded = true;
            LogFenced(logger, _tenantId, _epoch);
            if (!_deactivating)
            {
                DeactivateOnIdle();
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

    private BudgetExceededException Rejection(BudgetAccount account, BudgetViolation v)
    {
        var window = v.Window;
        var message = string.Create(CultureInfo.InvariantCulture, $"Budget exceeded for {Who(account)}: {window} {(v.Unit == BudgetUnit.Tokens ? "token" : "USD")} limit {v.Limit}, used {v.Used}, in flight {v.Reserved}, this call needs {v.Requested}.");
        return v.Unit == BudgetUnit.Tokens
            ? new TokenBudgetExceededException(message) { TenantId = _tenantId, Level = account.Level, LevelId = account.Id, Window = window, Used = (long)v.Used, InFlight = (long)v.Reserved, Limit = (long)v.Limit, Requested = (long)v.Requested }
            : new CostBudgetExceededException(message) { TenantId = _tenantId, Level = account.Level, LevelId = account.Id, Window = window, UsedUsd = v.Used, InFlightUsd = v.Reserved, LimitUsd = v.Limit, RequestedUsd = v.Requested };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: another activation of the budget grain wrote its state; marking it for a recount from the ledger and deactivating")]
    private static partial void LogSuperseded(ILogger logger, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: a newer activation of the budget grain fenced this one off (epoch {Epoch}); deactivating, its calls are repeated there")]
    private static partial void LogFenced(ILogger logger, string tenant, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: recounted {Rows} ledger rows after a duplicate activation (position {Position})")]
    private static partial void LogRecounted(ILogger logger, string tenant, int rows, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: {Count} reservations expired (their holder stopped renewing them) and were given back")]
    private static partial void LogReservationsExpired(ILogger logger, string tenant, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: caught up {Rows} ledger rows on activation (position {Position})")]
    private static partial void LogCaughtUp(ILogger logger, string tenant, int rows, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: counters not persisted on deactivation ({Error}); the next activation catches up from the ledger")]
    private static partial void LogPersistSkipped(ILogger logger, string tenant, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {Tenant}: persisting budget counters failed; will retry (the ledger stays the source of truth)")]
    private static partial void LogPersistFailed(ILogger logger, string tenant, Exception ex);
}
