namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Asks the silo a router reference reaches which of the given requests its routers are running. A front end that runs
/// as an Orleans client uses it to notice that the silo running its call is gone: Orleans breaks a client's pending
/// call when its gateway dies only at the call's response timeout (ten minutes for <see cref="IRouterGrain.CompleteAsync"/>),
/// while a probe through the same reference reaches the gateway that replaced it and finds the request missing.
/// Reach it with <c>router.AsReference&lt;IRouterProbeExtension&gt;()</c>; silos register it with the router grains.
/// </summary>
[Alias("llmrouter.IRouterProbeExtension")]
public interface IRouterProbeExtension : IGrainExtension
{
    /// <summary>The subset of <paramref name="requestIds"/> that routers on the silo reached are running now.</summary>
    [Alias("running"), Orleans.Concurrency.AlwaysInterleave]
    Task<string[]> RunningAsync(string[] requestIds);
}
