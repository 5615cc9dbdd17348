using Microsoft.Extensions.Logging;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// One scope's <c>max_concurrency</c> slots as this silo holds them: leased from the scope's grain in chunks of an
/// eighth of the limit (one at a time once the grain answered short), taken by calls, and given back when idle.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: the counts change under one lock and never across an await; every grain call about this scope's slots
/// (refill, give-back, renewal) goes in turn through one async mutex, so a refill never overtakes this silo's own
/// give-back and a renewal sends the count the grain holds. Callers that find the held slots in use wait for the one
/// refill under way and take from it.
/// </para>
/// <para>
/// Idle slots go back when this silo has no call holding one, when it holds more than two chunks idle (down to one
/// chunk), when the grain last answered it short, or when the grain asks for them because another silo is short
/// (<see cref="GiveBackOnRequest"/>). A silo short of slots asks again within <c>SlotWait</c> before it refuses, so a
/// call is refused only when, through that wait, every slot of the cluster stayed held by a call in flight.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never asked for holds nothing to release; background give-backs and flushes may still use it while the silo stops.")]
internal sealed class SlotPool
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(1); // between asks during the wait (real time: a latency bound, not a limit's window)
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(16); // the pause doubles up to this

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _traffic = new(1, 1);
    private int _held;
    private int _inUse;
    private bool _short;
    private bool _wanted;
    private bool _giveBackQueued;
    private int _max = 1;

    /// <summary>Slots held by calls running now.</summary>
    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Slots leased from the grain (in use or idle).</summary>
    public int Held
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>True when no refill, give-back or renewal is queued or in flight.</summary>
    public bool Idle
    {
        get
        {
            lock (_lock)
            {
                return !_giveBackQueued && _traffic.CurrentCount == 1;
            }
        }
    }

    /// <summary>Slots asked of the grain at a time: an eighth of the limit (at least one), one when the grain last answered short.</summary>
    internal static int Chunk(int max, bool answeredShort) => answeredShort ? 1 : Math.Max(1, max / 8);

    /// <summary>Takes a slot for one call: a held one, else one from the grain, waiting up to <paramref name="wait"/> for slots other silos give back.</summary>
    public async ValueTask<bool> TakeAsync(string scopeId, int max, ScopeGrains grains, TimeSpan wait)
    {
        if (TryTakeHeld())
        {
            return true;
        }

        await _traffic.WaitAsync();
        try
        {
            if (TryTakeHeld())
            {
                return true; // the refill another caller was waiting for served this one too
            }

            int want;
            lock (_lock)
            {
                _max = max;
                want = Chunk(max, _short);
            }

            var granted = await grains.CallAsync(scopeId, g => g.AcquireSlotsAsync(grains.Holder, want));
            lock (_lock)
            {
                _held += granted;
                _short = granted < want;
            }

            return TryTakeHeld() || await WaitForGiveBacksAsync(scopeId, grains, wait);
        }
        finally
        {
            _traffic.Release();
        }
    }

    /// <summary>
    /// Every slot is leased. The grain has asked the silos holding slots to give back the idle ones: ask again, pausing
    /// 1, 2, 4… up to 16 ms, until one comes (or a call of this silo ends) or <paramref name="wait"/> has passed.
    /// </summary>
    private async ValueTask<bool> WaitForGiveBacksAsync(string scopeId, ScopeGrains grains, TimeSpan wait)
    {
        var started = TimeProvider.System.GetTimestamp();
        var pause = FirstPause;
        while (TimeProvider.System.GetElapsedTime(started) < wait)
        {
            await Task.Delay(pause, TimeProvider.System);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            if (TryTakeHeld())
            {
                return true;
            }

            var more = await grains.CallAsync(scopeId, g => g.AcquireSlotsAsync(grains.Holder, 1));
            lock (_lock)
            {
                _held += more;
            }

            if (TryTakeHeld())
            {
                return true;
            }
        }

        return false;
    }

    private bool TryTakeHeld()
    {
        lock (_lock)
        {
            if (_inUse < _held)
            {
                _inUse++;
                return true;
            }

            return false;
        }
    }

    /// <summary>Frees a call's slot; idle slots go back to the grain in the background when this silo keeps too many.</summary>
    public void Release(string scopeId, int max, ScopeGrains grains, ILogger logger)
    {
        lock (_lock)
        {
            _inUse--;
            if (_giveBackQueued || ToGiveBack(max) == 0)
            {
                return;
            }

            _giveBackQueued = true;
        }

        _ = GiveBackAsync(scopeId, max, grains, logger);
    }

    /// <summary>Another silo is short of this scope's slots (the grain asked): every idle slot goes back now.</summary>
    public void GiveBackOnRequest(string scopeId, ScopeGrains grains, ILogger logger)
    {
        int max;
        lock (_lock)
        {
            if (_giveBackQueued || _held - _inUse <= 0)
            {
                return;
            }

            _wanted = true;
            _giveBackQueued = true;
            max = _max;
        }

        _ = GiveBackAsync(scopeId, max, grains, logger);
    }

    /// <summary>Renews the lease of the slots held, in turn with refills and give-backs, so the count sent is the one the grain holds.</summary>
    public async Task RenewAsync(string scopeId, ScopeGrains grains)
    {
        if (Held == 0)
        {
            return;
        }

        await _traffic.WaitAsync();
        try
        {
            var held = Held;
            if (held > 0)
            {
                await grains.CallAsync(scopeId, g => g.RenewSlotsAsync(grains.Holder, held));
            }
        }
        finally
        {
            _traffic.Release();
        }
    }

    private int ToGiveBack(int max)
    {
        var idle = _held - _inUse;
        var chunk = Chunk(max, false);
        return _inUse == 0 || _short || _wanted ? idle : idle > 2 * chunk ? idle - chunk : 0;
    }

    private async Task GiveBackAsync(string scopeId, int max, ScopeGrains grains, ILogger logger)
    {
        await _traffic.WaitAsync();
        try
        {
            int giveBack;
            lock (_lock)
            {
                _giveBackQueued = false;
                giveBack = ToGiveBack(max); // as of now: calls admitted meanwhile keep theirs
                _wanted = false;
                _held -= giveBack;
            }

            if (giveBack > 0)
            {
                await grains.CallAsync(scopeId, g => g.ReleaseSlotsAsync(grains.Holder, giveBack));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            GateLog.GrainUnreachable(logger, scopeId, ex); // the grain takes them back when this silo's renewals stop counting them
        }
        finally
        {
            _traffic.Release();
        }
    }
}
