namespace Orleans.LlmRouter.Grains.Hosting;

/// <summary>
/// The clock of the router's own logic (breakers, windows, leases, retries, budgets). Kept apart from the
/// <see cref="TimeProvider"/> Orleans itself uses, so tests can drive it with a fake clock without touching the runtime.
/// </summary>
internal sealed class RouterClock(TimeProvider time)
{
    public static RouterClock System { get; } = new(TimeProvider.System);

    public TimeProvider Time { get; } = time;

    public DateTimeOffset UtcNow => Time.GetUtcNow();
}
