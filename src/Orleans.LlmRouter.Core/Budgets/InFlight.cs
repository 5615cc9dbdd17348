namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>
/// Reservations in flight for one tenant. Memory only, and each one a lease: it expires at <c>ExpiresAt</c> unless its
/// holder (the silo running the call) renews it, so a holder that dies gives its reservations back within one lease
/// term instead of shrinking the tenant's budget until deactivation.
/// </summary>
internal sealed class InFlight
{
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Tokens, decimal Usd)> _runs = new(StringComparer.Ordinal);

    public long Tokens { get; private set; }

    public decimal Usd { get; private set; }

    public int Count => _byId.Count;

    public long RunTokens(string runId) => _runs.GetValueOrDefault(runId).Tokens;

    public decimal RunUsd(string runId) => _runs.GetValueOrDefault(runId).Usd;

    /// <summary>Adds a reservation that expires at <paramref name="expiresAt"/> unless renewed.</summary>
    public void Add(string id, long tokens, decimal usd, string? runId, DateTimeOffset expiresAt = default)
    {
        _byId.Add(id, new Entry(tokens, usd, runId, expiresAt == default ? DateTimeOffset.MaxValue : expiresAt));
        Tokens += tokens;
        Usd += usd;
        if (runId is not null)
        {
            var run = _runs.GetValueOrDefault(runId);
            _runs[runId] = (run.Tokens + tokens, run.Usd + usd);
        }
    }

    /// <summary>The tokens a reservation holds, or null when it is not (or no longer) held.</summary>
    public long? TokensOf(string id) => _byId.TryGetValue(id, out var e) ? e.Tokens : null;

    /// <summary>Extends the reservations that are still held to <paramref name="expiresAt"/>; returns how many were.</summary>
    public int Renew(IEnumerable<string> ids, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var renewed = 0;
        foreach (var id in ids)
        {
            if (_byId.TryGetValue(id, out var e))
            {
                _byId[id] = e with { ExpiresAt = expiresAt };
                renewed++;
            }
        }

        return renewed;
    }

    /// <summary>Removes every reservation whose lease ended before <paramref name="now"/>; returns how many.</summary>
    public int Expire(DateTimeOffset now) => Expire(now, null);

    /// <summary>Removes every reservation whose lease ended before <paramref name="now"/>, adding their ids to <paramref name="ids"/>; returns how many.</summary>
    public int Expire(DateTimeOffset now, List<string>? ids)
    {
        List<string>? expired = null;
        foreach (var (id, e) in _byId)
        {
            if (e.ExpiresAt <= now)
            {
                (expired ??= []).Add(id);
            }
        }

        foreach (var id in expired ?? [])
        {
            Remove(id);
        }

        if (expired is not null)
        {
            ids?.AddRange(expired);
        }

        return expired?.Count ?? 0;
    }

    /// <summary>Removes a reservation; false when it was not (or no longer) held.</summary>
    public bool Remove(string id)
    {
        if (!_byId.Remove(id, out var r))
        {
            return false;
        }

        Tokens -= r.Tokens;
        Usd -= r.Usd;
        if (r.RunId is not null)
        {
            var run = _runs[r.RunId];
            run = (run.Tokens - r.Tokens, run.Usd - r.Usd);
            if (run.Tokens == 0 && run.Usd == 0)
            {
                _runs.Remove(r.RunId);
            }
            else
            {
                _runs[r.RunId] = run;
            }
        }

        return true;
    }

    private readonly record struct Entry(long Tokens, decimal Usd, string? RunId, DateTimeOffset ExpiresAt);
}
