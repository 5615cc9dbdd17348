using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// The budget of one level of a tenant (the tenant itself, a project, a key or an end user) inside the tenant's budget
/// grain: its limits, its counters (live: every settle applied; prefix: the rows up to the persisted position), the
/// reservations it holds and its per-minute window. Plain arithmetic, no I/O: the grain's single turn makes a check and
/// the hold that follows it one step for every level at once.
/// </summary>
internal sealed class BudgetAccount(string level, string id)
{
    public string Level { get; } = level;

    public string Id { get; } = id;

    public BudgetLimits Limits { get; private set; } = BudgetLimits.None;

    public decimal? AlertThreshold { get; private set; }

    public string? Webhook { get; private set; }

    /// <summary>Every settle applied (replacing it makes the next roll recompute its windows).</summary>
    public BudgetCounters Live
    {
        get => _live;
        set
        {
            _live = value;
            _rolledMinute = long.MinValue;
        }
    }

    /// <summary>The rows up to the persisted position.</summary>
    public BudgetCounters Prefix
    {
        get => _prefix;
        set
        {
            _prefix = value;
            _rolledMinute = long.MinValue;
        }
    }

    private BudgetCounters _live = new();
    private BudgetCounters _prefix = new();

    public InFlight InFlight { get; } = new();

    /// <summary>The first tenant sequence number this account counts (0 for the tenant: every row).</summary>
    public long FromSeq { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    private ProviderLimits? _rateLimits;
    private long _rolledMinute = long.MinValue;
    private TimeZoneInfo? _rolledZone;
    private RateWindow? _rate;

    /// <summary>Takes the level's current limits (a changed per-minute limit starts a new window).</summary>
    public void Configure(BudgetLimits budgets, ProviderLimits limits, decimal? alertThreshold, string? webhook)
    {
        Limits = budgets;
        AlertThreshold = alertThreshold;
        Webhook = webhook;
        var hasRate = limits.RequestsPerMinute is not null || limits.TokensPerMinute is not null;
        if (_rateLimits != limits)
        {
            _rateLimits = hasRate ? limits : null;
            _rate = hasRate ? new RateWindow(limits) : null;
        }
    }

    /// <summary>Which per-minute limit (<c>rpm</c>, <c>tpm</c>) this request would break, if any (nothing is consumed).</summary>
    public string? RateLimited(DateTimeOffset now, long tokens)
    {
        if (_rateLimits is not { } limits || _rate is null)
        {
            return null;
        }

        if (limits.RequestsPerMinute is { } rpm && _rate.RequestsUsedAt(now) + 1 > rpm)
        {
            return "rpm";
        }

        // Tokens this minute: what settled calls actually used, plus what the calls in flight hold (their reservations).
        return limits.TokensPerMinute is { } tpm && _rate.TokensUsedAt(now) + InFlight.Tokens + tokens > tpm ? "tpm" : null;
    }

    /// <summary>The window and unit a reservation of this size would overshoot, if any.</summary>
    public BudgetViolation? Check(long tokens, decimal usd, string? runId) => BudgetRules.Check(Limits, Live, InFlight, tokens, usd, runId);

    /// <summary>Holds a reservation that passed every level's checks.</summary>
    public void Hold(string reservationId, long tokens, decimal usd, string? runId, bool countsRequest, DateTimeOffset now, DateTimeOffset expiresAt)
    {
        if (countsRequest)
        {
            _rate?.Grant(now, 1, 0); // tokens count while in flight (the reservation), then as used (at settle)
        }

        InFlight.Add(reservationId, tokens, usd, runId, expiresAt);
    }

    /// <summary>A settled call's usage, counted live (the prefix follows when its sequence number is contiguous).</summary>
    public void Settled(long tokens, decimal usd, string? runId, DateTimeOffset at, TimeZoneInfo zone, DateTimeOffset now)
    {
        _rate?.Charge(now, tokens);
        Live.Add(tokens, usd, runId, at, zone);
        LastUsedAt = LastUsedAt is { } last && last > at ? last : at;
    }

    /// <summary>Rolls windows over, gives back expired reservations and drops idle runs; true when the prefix changed.</summary>
    public (int Expired, bool Dropped) Roll(DateTimeOffset now, TimeZoneInfo zone, DateTimeOffset idleSince, List<string>? expiredIds)
    {
        // Every window starts on a whole minute (of UTC, whatever the zone's offset), so within one minute the window keys
        // cannot change: they are recomputed once a minute, not on every call.
        var minute = now.UtcTicks / TimeSpan.TicksPerMinute;
        if (minute != _rolledMinute || !ReferenceEquals(zone, _rolledZone))
        {
            Live.Roll(now, zone);
            Prefix.Roll(now, zone);
            _rolledMinute = minute;
            _rolledZone = zone;
        }

        var expired = InFlight.Expire(now, expiredIds);
        return (expired, Live.DropIdleRuns(idleSince) + Prefix.DropIdleRuns(idleSince) > 0);
    }

    /// <summary>The counters per window and run, for <see cref="ITenantBudgetGrain.GetUsageAsync"/>.</summary>
    public List<WindowUsage> Windows()
    {
        var windows = BudgetWindows.All.Select(w =>
        {
            var count = Live[w];
            return new WindowUsage(w.Name, w.IsLifetime ? null : count.Key, count.Tokens, count.Usd, Limits.TokenLimit(w.Name), Limits.Limit(w.Name, BudgetUnit.Usd));
        }).ToList();
        windows.AddRange(Live.Runs.Select(kv => new WindowUsage(BudgetWindows.Run, kv.Key, kv.Value.Tokens, kv.Value.Usd, Limits.TokenLimit(BudgetWindows.Run), Limits.Limit(BudgetWindows.Run, BudgetUnit.Usd))));
        return windows;
    }
}
