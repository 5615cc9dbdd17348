using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Providers;

/// <summary>
/// Cluster-wide per-minute budget of requests and tokens, handed out in leases. Fixed one-minute windows aligned to
/// the minute: the sum of everything granted in a window never exceeds rpm / tpm. Tokens are granted against
/// estimates; usage above the estimate is charged with <see cref="Charge"/> and reduces what can still be granted.
/// Not thread-safe: owned by one grain.
/// </summary>
internal sealed class RateWindow
{
    private readonly ProviderLimits _limits;
    private long _windowStart = long.MinValue;
    private long _requests;
    private long _tokens;

    public RateWindow(ProviderLimits limits) => _limits = limits;

    public long RequestsUsed => _requests;

    public long TokensUsed => _tokens;

    /// <summary>End of the current window: leases granted now expire then.</summary>
    public static DateTimeOffset WindowEnd(DateTimeOffset now) => DateTimeOffset.FromUnixTimeSeconds(Minute(now) + 60);

    /// <summary>Grants up to the asked requests and tokens that still fit this minute.</summary>
    public (int Requests, long Tokens) Grant(DateTimeOffset now, int requests, long tokens)
    {
        Roll(now);
        var r = _limits.RequestsPerMinute is { } rpm ? (int)Math.Clamp(rpm - _requests, 0, requests) : requests;
        var t = _limits.TokensPerMinute is { } tpm ? Math.Clamp(tpm - _tokens, 0, tokens) : tokens;
        if (r == 0 || (t == 0 && tokens > 0))
        {
            return (0, 0);
        }

        _requests += r;
        _tokens += t;
        return (r, t);
    }

    /// <summary>Requests granted in the window that holds <paramref name="now"/>.</summary>
    public long RequestsUsedAt(DateTimeOffset now)
    {
        Roll(now);
        return _requests;
    }

    /// <summary>Tokens granted or charged in the window that holds <paramref name="now"/>.</summary>
    public long TokensUsedAt(DateTimeOffset now)
    {
        Roll(now);
        return _tokens;
    }

    /// <summary>Charges tokens used beyond what was granted (actual above estimate).</summary>
    public void Charge(DateTimeOffset now, long tokens)
    {
        Roll(now);
        _tokens += Math.Max(0, tokens);
    }

    private void Roll(DateTimeOffset now)
    {
        var minute = Minute(now);
        if (minute != _windowStart)
        {
            _windowStart = minute;
            _requests = 0;
            _tokens = 0;
        }
    }

    private static long Minute(DateTimeOffset now) => now.ToUnixTimeSeconds() / 60 * 60;
}
