namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Settings of the router's calls to the cluster's own grains (<c>LlmRouter:Router</c>).</summary>
public sealed class RouterOptions
{
    /// <summary>
    /// How long one call to a budget or provider grain may take before the router stops waiting for it. A grain whose
    /// silo died answers nothing until membership declares the silo dead; the router does not wait on it longer than this.
    /// </summary>
    public TimeSpan GrainCallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the router keeps retrying a reservation or a settle that failed because a grain's silo is gone (the
    /// grain is re-activated elsewhere once membership declares the silo dead). Past it the call is answered 503 with
    /// Retry-After. Keep it above the membership failure-detection time.
    /// </summary>
    public TimeSpan GrainRetryDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a silo that finds a scope's concurrency slots all leased waits for slots other silos hold idle
    /// (<c>LlmRouter:Router:SlotWait</c>, default 20 ms). The provider grain asks those silos to give their idle slots
    /// back; the silo asks again until it gets one or this bound passes, and only then refuses the call. A wait for
    /// capacity that exists elsewhere in the cluster, ended as soon as a slot comes; zero refuses at once.
    /// </summary>
    public TimeSpan SlotWait { get; set; } = TimeSpan.FromMilliseconds(20);
}
