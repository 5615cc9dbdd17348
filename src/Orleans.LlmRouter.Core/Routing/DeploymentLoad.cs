namespace Orleans.LlmRouter.Core.Routing;

/// <summary>
/// What a silo knows of one deployment when it picks one, from local state only.
/// </summary>
/// <param name="Weight">The deployment's configured weight (positive).</param>
/// <param name="InFlight">Calls in flight cluster-wide (this silo's exactly, the others' as last reported).</param>
/// <param name="LatencyMs">Recent median latency of successful calls; 0 when nothing was measured yet.</param>
/// <param name="Headroom">Share of this minute's rpm/tpm left, 0 to 1 (1 without limits).</param>
/// <param name="EstimatedCostUsd">Estimated cost of this call at the deployment's prices.</param>
internal readonly record struct DeploymentLoad(int Weight, int InFlight, double LatencyMs, double Headroom, decimal EstimatedCostUsd);
