using System.Collections.Concurrent;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// The requests this silo's router activations are working on, by request id, so a caller that goes away can cancel
/// its request with <c>IRouterGrain.CancelAsync</c>. Needed because Orleans routes the cancellation of a call to a
/// stateless worker to any activation rather than the one running it (dotnet/orleans#9877); a silo-wide registry
/// makes any activation on the silo able to cancel. Only the tenant that started a request may cancel it.
/// </summary>
/// <remarks>
/// A cancellation can overtake the call it cancels (both are messages to the silo, and the call may still be queued):
/// one that finds no running request is remembered for <see cref="EarlyCancelLifetime"/> and applied when that request
/// begins, so a caller who went away at once still stops its request before anything is sent upstream.
/// </remarks>
internal sealed class InFlightRequests(TimeProvider time)
{
    /// <summary>How long a cancellation that arrived before its request is kept.</summary>
    public static readonly TimeSpan EarlyCancelLifetime = TimeSpan.FromMinutes(1);

    private const int MaxEarlyCancels = 10_000;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string TenantId, DateTimeOffset At)> _early = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _delivering = new(StringComparer.Ordinal);

    private volatile bool _draining;

    /// <summary>Requests running, and pushed streams still delivering (<see cref="HoldDelivery"/>): what a drain waits for.</summary>
    public int Count => _entries.Count + _delivering.Count;

    /// <summary>True once the silo stops taking new requests (<see cref="StartDraining"/>).</summary>
    public bool Draining => _draining;

    /// <summary>From now on <see cref="Begin"/> refuses new requests with <see cref="SiloDrainingException"/>.</summary>
    public void StartDraining() => _draining = true;

    /// <summary>
    /// Registers a request; dispose the result when the request ends. On a draining silo it throws
    /// <see cref="SiloDrainingException"/> instead, before anything was done for the request.
    /// </summary>
    public Registration Begin(string requestId, string tenantId, CancellationToken callerToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
        var entry = new Entry(tenantId, cts);
        _entries[requestId] = entry;

        // Registered first, checked second: a drain that starts meanwhile either sees this request in Count (and waits
        // for it) or this check sees the drain (and the request is refused). Never neither.
        if (_draining)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(requestId, entry));
            cts.Dispose();
            throw new SiloDrainingException();
        }

        if (!_early.IsEmpty && _early.TryRemove(requestId, out var early) && early.TenantId == tenantId && time.GetUtcNow() - early.At < EarlyCancelLifetime)
        {
            cts.Cancel();
        }

        return new Registration(this, requestId, entry);
    }

    /// <summary>
    /// True while the request is running on this silo (between <see cref="Begin"/> and the registration's disposal), or
    /// while its pushed stream is still delivering (<see cref="HoldDelivery"/>).
    /// </summary>
    public bool IsRunning(string requestId) => _entries.ContainsKey(requestId) || _delivering.ContainsKey(requestId);

    /// <summary>
    /// Counts a pushed stream as in flight until the result is disposed: from before its request begins (which may
    /// still refuse it on a draining silo) until its last items have been taken by the caller, which comes after the
    /// request itself ended. Never refuses; a drain waits for it.
    /// </summary>
    public IDisposable HoldDelivery(string requestId)
    {
        _delivering.AddOrUpdate(requestId, 1, static (_, n) => n + 1);
        return new DeliveryHold(this, requestId);
    }

    private sealed class DeliveryHold(InFlightRequests owner, string requestId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            while (owner._delivering.TryGetValue(requestId, out var n))
            {
                if (n <= 1 ? owner._delivering.TryRemove(new KeyValuePair<string, int>(requestId, n)) : owner._delivering.TryUpdate(requestId, n - 1, n))
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Cancels a request of <paramref name="tenantId"/>: at once when it is running on this silo (true), or when it
    /// begins if that is within <see cref="EarlyCancelLifetime"/> (false).
    /// </summary>
    public bool Cancel(string requestId, string tenantId)
    {
        if (!_entries.TryGetValue(requestId, out var entry) || entry.TenantId != tenantId)
        {
            RememberEarly(requestId, tenantId);
            return false;
        }

        try
        {
            entry.Source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false; // it ended meanwhile
        }

        return true;
    }

    private void RememberEarly(string requestId, string tenantId)
    {
        var now = time.GetUtcNow();
        if (_early.Count >= MaxEarlyCancels)
        {
            foreach (var (id, early) in _early)
            {
                if (now - early.At >= EarlyCancelLifetime)
                {
                    _early.TryRemove(id, out _);
                }
            }

            if (_early.Count >= MaxEarlyCancels)
            {
                return; // bounded: past this, an early cancellation is dropped and the caller's own token still applies
            }
        }

        _early[requestId] = (tenantId, now);
    }

    internal sealed record Entry(string TenantId, CancellationTokenSource Source);

    public sealed class Registration : IDisposable
    {
        private readonly InFlightRequests _owner;
        private readonly string _requestId;
        private readonly Entry _entry;

        internal Registration(InFlightRequests owner, string requestId, Entry entry)
        {
            _owner = owner;
            _requestId = requestId;
            _entry = entry;
        }

        public CancellationToken Token => _entry.Source.Token;

        public void Dispose()
        {
            _owner._entries.TryRemove(new KeyValuePair<string, Entry>(_requestId, _entry));
            _entry.Source.Dispose();
        }
    }
}
