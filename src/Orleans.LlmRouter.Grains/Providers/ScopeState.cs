using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// What this silo holds of one provider scope (a provider, a model with its own limits or breaker, or a deployment):
/// the last snapshot its grain pushed or answered, the rate lease, the concurrency slots, and the outcomes on their way.
/// Each part keeps its own synchronisation (see each type); the snapshot is replaced under a lock, a newer version only.
/// </summary>
internal sealed class ScopeState
{
    private readonly Lock _lock = new();
    private ProviderSnapshot? _snapshot;
    private DateTimeOffset _snapshotAt;

    public ProviderSnapshot? Snapshot
    {
        get
        {
            lock (_lock)
            {
                return _snapshot;
            }
        }
    }

    /// <summary>When the current snapshot arrived (a stale one is refreshed).</summary>
    public DateTimeOffset SnapshotAt
    {
        get
        {
            lock (_lock)
            {
                return _snapshotAt;
            }
        }
    }

    private int _queried;

    /// <summary>Notes that the scope's state was read for a call (the timer refreshes stale snapshots of scopes in use).</summary>
    public void MarkQueried() => Volatile.Write(ref _queried, 1);

    /// <summary>True once per <see cref="MarkQueried"/>: the scope was read for a call since the last time this was asked.</summary>
    public bool TakeQueried() => Interlocked.Exchange(ref _queried, 0) == 1;

    /// <summary>When this silo last subscribed to the grain's pushes (renewed before the grain forgets it).</summary>
    public DateTimeOffset SubscribedAt { get; set; }

    public MinuteLease Rate { get; } = new();

    public SlotPool Slots { get; } = new();

    public OutcomeQueue Outcomes { get; } = new();

    /// <summary>Keeps <paramref name="snapshot"/> unless a newer one is already here.</summary>
    public void Apply(ProviderSnapshot snapshot, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_snapshot is null || snapshot.Version >= _snapshot.Version)
            {
                _snapshot = snapshot;
                _snapshotAt = now;
            }
        }
    }
}
