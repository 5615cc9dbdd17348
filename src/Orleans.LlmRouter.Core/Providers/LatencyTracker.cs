namespace Orleans.LlmRouter.Core.Providers;

/// <summary>Keeps the last N latencies and answers percentiles. Not thread-safe: owned by one grain.</summary>
internal sealed class LatencyTracker(int capacity = 512)
{
    private readonly double[] _samples = new double[capacity];
    private int _count;
    private int _next;

    public void Add(double milliseconds)
    {
        _samples[_next] = milliseconds;
        _next = (_next + 1) % _samples.Length;
        _count = Math.Min(_count + 1, _samples.Length);
    }

    /// <summary>The p-th percentile (0–100) of the kept samples, or 0 with none.</summary>
    public double Percentile(double p)
    {
        if (_count == 0)
        {
            return 0;
        }

        var sorted = _samples[.._count];
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100 * _count) - 1;
        return sorted[Math.Clamp(rank, 0, _count - 1)];
    }
}
