using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// One scope's rpm/tpm capacity leased by this silo for the current minute: requests and tokens taken locally, refilled
/// from the scope's grain in chunks of about 1/<see cref="LeaseFraction"/> of the minute's limit.
/// </summary>
/// <remarks>
/// Concurrency: the counters change under one lock and never across an await; refills from the grain go one at a time
/// (an async mutex), and callers that find the lease used up wait for that one refill and take from it, so concurrent
/// callers never ask for more than the silo needs (thirty-two callers each asking a twentieth of a minute used to take
/// the whole minute and refuse the rest). A lease of an ended minute that arrives after the new minute's is dropped,
/// never put in its place. Refused only when the grain has nothing left to grant this minute: every request and token
/// of the limit is granted to a silo — admitted, or at most one chunk unused in each other silo.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never asked for holds nothing to release; background give-backs and flushes may still use it while the silo stops.")]
internal sealed class MinuteLease
{
    /// <summary>A silo asks the grain for this fraction of a minute's limit at a time.</summary>
    public const int LeaseFraction = 20;

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _refill = new(1, 1);
    private int _requests;
    private long _tokens;
    private DateTimeOffset _expires;

    /// <summary>Requests left in the lease (for gauges).</summary>
    public int Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests;
            }
        }
    }

    /// <summary>True when no refill is in flight.</summary>
    public bool Idle => _refill.CurrentCount == 1;

    /// <summary>True while the lease of the current minute still holds a request.</summary>
    public bool HoldsRequests(DateTimeOffset now)
    {
        lock (_lock)
        {
            return now < _expires && _requests > 0;
        }
    }

    /// <summary>
    /// Takes one request and <paramref name="tokens"/> from the lease, refilling it from the grain when used up; null
    /// when taken, else the limit that is spent. <paramref name="apply"/> receives the snapshot each lease carries.
    /// </summary>
    public async ValueTask<(ProviderErrorClass? Spent, DateTimeOffset Lease)> TakeAsync(
        string scopeId, ProviderLimits limits, long tokens, ScopeGrains grains, TimeProvider time, Action<ProviderSnapshot> apply)
    {
        if (limits.RequestsPerMinute is null && limits.TokensPerMinute is null)
        {
            return (null, default);
        }

        if (TryConsume(limits, tokens, time.GetUtcNow()) is { } taken)
        {
            return (null, taken);
        }

        await _refill.WaitAsync();
        try
        {
            // Each pass either admits, or is granted something (which callers outside the mutex may take first), or ends.
            for (var pass = 0; pass < 64; pass++)
            {
                if (TryConsume(limits, tokens, time.GetUtcNow()) is { } early)
                {
                    return (null, early);
                }

                var askRequests = limits.RequestsPerMinute is { } rpm ? Math.Max(1, rpm / LeaseFraction) : 1_000_000;
                var askTokens = limits.TokensPerMinute is { } tpm ? Math.Max(tokens, tpm / LeaseFraction) : Math.Max(tokens, 1);
                var lease = await grains.CallAsync(scopeId, g => g.LeaseAsync(askRequests, askTokens));
                apply(lease.Snapshot);
                Add(lease);
                if (TryConsume(limits, tokens, time.GetUtcNow()) is { } granted)
                {
                    return (null, granted);
                }

                if (lease.Requests == 0 && lease.ExpiresAt > time.GetUtcNow())
                {
                    var requestsSpent = limits.RequestsPerMinute is { } r && lease.Snapshot.RequestsThisMinute >= r;
                    return (requestsSpent ? ProviderErrorClass.RequestsPerMinuteLimit : ProviderErrorClass.TokensPerMinuteLimit, default);
                }
            }

            return (limits.TokensPerMinute is not null ? ProviderErrorClass.TokensPerMinuteLimit : ProviderErrorClass.RequestsPerMinuteLimit, default);
        }
        finally
        {
            _refill.Release();
        }
    }

    /// <summary>Tokens a call took and did not use go back to the lease it took them from, while that lease lasts.</summary>
    public void Refund(long tokens, DateTimeOffset takenFrom, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (now < _expires && takenFrom == _expires)
            {
                _tokens += tokens;
            }
        }
    }

    private void Add(RateLease lease)
    {
        lock (_lock)
        {
            if (lease.ExpiresAt > _expires)
            {
                _requests = 0;
                _tokens = 0;
                _expires = lease.ExpiresAt;
            }

            if (lease.ExpiresAt == _expires)
            {
                _requests += lease.Requests;
                _tokens += lease.Tokens;
            }
        }
    }

    /// <summary>Takes one request and the tokens from the lease of the current minute; the lease's end when taken, else null.</summary>
    private DateTimeOffset? TryConsume(ProviderLimits limits, long tokens, DateTimeOffset now)
    {
        var countTokens = limits.TokensPerMinute is not null;
        lock (_lock)
        {
            if (now >= _expires || _requests < 1 || (countTokens && _tokens < tokens))
            {
                return null;
            }

            _requests--;
            if (countTokens)
            {
                _tokens -= tokens;
            }

            return _expires;
        }
    }
}
