namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>
/// The randomness of the router's own decisions (which deployment of a model to call). Injectable so tests can seed
/// it; the default is <see cref="Random.Shared"/>. A seeded instance is used under a lock (<see cref="Random"/> is not
/// thread-safe).
/// </summary>
internal sealed class RouterRandom
{
    private readonly Random? _seeded;

    private RouterRandom(Random? seeded) => _seeded = seeded;

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
}
