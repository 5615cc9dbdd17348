using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>
/// The randomness of the router's own decisions (which deployment of a model to call). Injectable so tests can seed
/// it; the default is <see cref="Random.Shared"/>. A seeded instance is used under a lock (<see cref="Random"/> is not
/// thread-safe).
/// </summary>
internal sealed class RouterRandom
{
    /// <summary>The golden ratio's fractional part: the step of the most evenly spread rotation of the unit interval.</summary>
    private const double GoldenStep = 0.6180339887498949;

    private readonly Random? _seeded;
    private readonly double _offset;
    private readonly ConcurrentDictionary<string, StrongBox<long>> _spreads = new(StringComparer.Ordinal);

    private RouterRandom(Random? seeded)
    {
        _seeded = seeded;
        _offset = NextDouble();
    }

    /// <summary>Thread-safe shared randomness.</summary>
    public static RouterRandom System { get; } = new(null);

    /// <summary>A deterministic sequence for tests.</summary>
    public static RouterRandom Seeded(int seed) => new(new Random(seed));

    /// <summary>A uniform number in [0, 1).</summary>
    public double NextDouble()
    {
        if (_seeded is null)
        {
            return Random.Shared.NextDouble();
        }

        lock (_seeded)
        {
            return _seeded.NextDouble();
        }
    }

    /// <summary>
    /// The next number of <paramref name="key"/>'s low-discrepancy sequence in [0, 1): a rotation of the unit interval
    /// by the golden ratio from a random start. Each number is uniform, and any run of them covers the interval evenly,
    /// so picks by cumulative weight match the weights within a call or two over any window instead of only on average.
    /// </summary>
    public double Spread(string key)
    {
        var counter = _spreads.GetOrAdd(key, static _ => new StrongBox<long>());
        var k = Interlocked.Increment(ref counter.Value);
        var u = _offset + (k * GoldenStep % 1.0);
        return u >= 1.0 ? u - 1.0 : u;
    }
}
