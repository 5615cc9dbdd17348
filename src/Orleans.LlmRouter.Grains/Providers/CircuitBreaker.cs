using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>
/// Failure-rate circuit breaker over a sliding window of one-second buckets. Closed → Open when, within the window,
/// at least <see cref="BreakerSettings.MinimumCalls"/> calls were seen and the failure share reaches
/// <see cref="BreakerSettings.FailureRatio"/>. After <see cref="BreakerSettings.Break"/> exactly one probe is let
/// through (HalfOpen); its success closes the breaker, its failure opens it again. Only failures that say something
/// about the provider are recorded here (the caller filters out cancellations and permanent request errors).
/// Not thread-safe: owned by one grain.
/// </summary>
internal sealed class CircuitBreaker
{
    private readonly BreakerSettings _settings;
    private readonly LinkedList<Bucket> _buckets = new();
    private int _successes;
    private int _failures;

    public CircuitBreaker(BreakerSettings settings) => _settings = settings;

    public ProviderCircuitState State { get; private set; } = ProviderCircuitState.Closed;

    /// <summary>When an open breaker lets its half-open probe through.</summary>
    public DateTimeOffset? OpenUntil { get; private set; }

    /// <summary>When the half-open probe was granted (it times out after the break duration).</summary>
    public DateTimeOffset? ProbeGrantedAt { get; private set; }

    public long TotalSuccesses { get; private set; }

    public long TotalFailures { get; private set; }

    public DateTimeOffset? LastFailureAt { get; private set; }

    public string? LastFailureClass { get; private set; }

    /// <summary>Restores persisted control-plane state (an open breaker survives deactivation).</summary>
    public void Restore(ProviderCircuitState state, DateTimeOffset? openUntil)
    {
        State = state == ProviderCircuitState.HalfOpen ? ProviderCircuitState.Open : state;
        OpenUntil = State == ProviderCircuitState.Open ? openUntil : null;
    }

    public void RecordSuccess(DateTimeOffset now, bool wasProbe = false)
    {
        TotalSuccesses++;
        if (State == ProviderCircuitState.HalfOpen && wasProbe)
        {
            Close();
            return;
        }

        Add(now, success: true);
    }

    public void RecordFailure(DateTimeOffset now, string errorClass, bool wasProbe = false)
    {
        TotalFailures++;
        LastFailureAt = now;
        LastFailureClass = errorClass;
        if (State == ProviderCircuitState.HalfOpen && wasProbe)
        {
            Open(now);
            return;
        }

        if (State != ProviderCircuitState.Closed)
        {
            return;
        }

        Add(now, success: false);
        var calls = _successes + _failures;
        if (calls >= _settings.MinimumCalls && (double)_failures / calls >= _settings.FailureRatio)
        {
            Open(now);
        }
    }

    /// <summary>
    /// Asks for the single cluster-wide probe. Granted once the break time has passed (or a previous probe timed out);
    /// every other caller is refused until the probe reports.
    /// </summary>
    public bool TryBeginProbe(DateTimeOffset now)
    {
        if (State == ProviderCircuitState.Closed)
        {
            return true;
        }

        if (State == ProviderCircuitState.Open && OpenUntil is { } until && now >= until)
        {
            State = ProviderCircuitState.HalfOpen;
            ProbeGrantedAt = now;
            return true;
        }

        if (State == ProviderCircuitState.HalfOpen && (ProbeGrantedAt is not { } granted || now - granted >= _settings.Break))
        {
            ProbeGrantedAt = now; // the previous probe never reported: grant a new one
            return true;
        }

        return false;
    }

    /// <summary>Gives back a probe that was granted but never sent, so the next caller may probe at once.</summary>
    public void ReleaseProbe()
    {
        if (State == ProviderCircuitState.HalfOpen)
        {
            ProbeGrantedAt = null;
        }
    }

    /// <summary>Whether a caller may send a normal (non-probe) call now.</summary>
    public bool AllowsTraffic => State == ProviderCircuitState.Closed;

    private void Open(DateTimeOffset now)
    {
        State = ProviderCircuitState.Open;
        OpenUntil = now + _settings.Break;
        ProbeGrantedAt = null;
        ResetWindow();
    }

    private void Close()
    {
        State = ProviderCircuitState.Closed;
        OpenUntil = null;
        ProbeGrantedAt = null;
        ResetWindow();
    }

    private void ResetWindow()
    {
        _buckets.Clear();
        _successes = 0;
        _failures = 0;
    }

    private void Add(DateTimeOffset now, bool success)
    {
        var second = now.ToUnixTimeSeconds();
        var oldest = second - (long)_settings.Window.TotalSeconds;
        while (_buckets.First is { } first && first.Value.Second <= oldest)
        {
            _successes -= first.Value.Successes;
            _failures -= first.Value.Failures;
            _buckets.RemoveFirst();
        }

        var bucket = _buckets.Last?.Value;
        if (bucket is null || bucket.Second != second)
        {
            bucket = new Bucket(second);
            _buckets.AddLast(bucket);
        }

        if (success)
        {
            bucket.Successes++;
            _successes++;
        }
        else
        {
            bucket.Failures++;
            _failures++;
        }
    }

    private sealed class Bucket(long second)
    {
        public long Second { get; } = second;

        public int Successes { get; set; }

        public int Failures { get; set; }
    }
}
