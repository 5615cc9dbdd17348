using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Routing;

/// <summary>A routing decision: candidates in the order they will be tried (ineligible ones kept, with reasons).</summary>
internal sealed record RoutePlan(IReadOnlyList<RouteCandidate> Candidates, IReadOnlySet<Capability> Required)
{
    public IEnumerable<RouteCandidate> Eligible => Candidates.Where(c => c.Eligible);
}
