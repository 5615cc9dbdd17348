using System.Collections.Concurrent;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// The requests this silo's router activations are working on, by request id, so a caller that goes away can cancel
/// its request with <c>IRouterGrain.CancelAsync</c>. Needed because Orleans routes the cancellation of a call to a
/// stateless worker to any activation rather than the one running it (dotnet/orleans#9877); a silo-wide registry
/// makes any activation on the silo able to cancel. Only the tenant that started a request may cancel it.
/// </summary>
public sealed class InFlightRequests
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    /// <summary>Registers a request; dispose the result when the request ends.</summary>
    public Registration Begin(string requestId, string tenantId, CancellationToken callerToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
        var entry = new Entry(tenantId, cts);
        _entries[requestId] = entry;
        return new Registration(this, requestId, entry);
    }

    /// <summary>Cancels a running request of <paramref name="tenantId"/>; false when there is none on this silo.</summary>
    public bool Cancel(string requestId, string tenantId)
    {
        if (!_entries.TryGetValue(requestId, out var entry) || entry.TenantId != tenantId)
        {
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
