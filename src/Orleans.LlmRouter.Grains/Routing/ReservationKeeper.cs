using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Budgets;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// Keeps the budget reservations of the calls running on this silo alive: every third of
/// <see cref="BudgetOptions.ReservationLease"/> it renews them, one call per tenant grain. A silo that dies stops renewing,
/// and its reservations expire at their grains within one lease term, so the tenant's budget comes back by itself.
/// </summary>
internal sealed partial class ReservationKeeper : IDisposable
{
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly ITimer _timer;
    private readonly ILogger<ReservationKeeper> _logger;
    private int _renewing;

    public ReservationKeeper(RouterClock clock, IOptions<BudgetOptions> options, ILogger<ReservationKeeper> logger)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        var every = options.Value.ReservationLease / 3;
        _timer = clock.Time.CreateTimer(_ => _ = RenewAllAsync(), null, every, every);
    }

    /// <summary>Reservations this silo holds now.</summary>
    public int Count => _held.Count;

    /// <summary>Starts keeping <paramref name="reservationId"/> alive; stop with <see cref="Drop"/> once settled or released.</summary>
    public void Hold(ITenantBudgetGrain grain, string tenantId, string reservationId) =>
        _held[reservationId] = new Held(grain, tenantId);

    public void Drop(string reservationId) => _held.TryRemove(reservationId, out _);

    /// <summary>Renews every held reservation now (also runs on the timer).</summary>
    public async Task RenewAllAsync()
    {
        if (Interlocked.Exchange(ref _renewing, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var group in _held.ToArray().GroupBy(kv => kv.Value.TenantId, StringComparer.Ordinal))
            {
                var ids = group.Select(kv => kv.Key).ToList();
                try
                {
                    await group.First().Value.Grain.RenewAsync(ids);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogRenewFailed(_logger, group.Key, ids.Count, ex.GetType().Name);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    public void Dispose() => _timer.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: renewing {Count} reservations failed ({Error}); they are renewed again on the next tick")]
    private static partial void LogRenewFailed(ILogger logger, string tenant, int count, string error);

    private readonly record struct Held(ITenantBudgetGrain Grain, string TenantId);
}
