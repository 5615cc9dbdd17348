using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Answers <see cref="IRouterProbeExtension"/> from this silo's <see cref="InFlightRequests"/>.</summary>
internal sealed class RouterProbeExtension(RouterServices services) : IRouterProbeExtension
{
    public Task<string[]> RunningAsync(string[] requestIds)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        return Task.FromResult(requestIds.Where(services.InFlight.IsRunning).ToArray());
    }
}
