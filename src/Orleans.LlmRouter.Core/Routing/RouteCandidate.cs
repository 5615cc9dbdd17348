using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Core.Routing;

/// <summary>One candidate model in route order, with whether it may be tried and why.</summary>
internal sealed record RouteCandidate(ModelDefinition Model, bool Eligible, string Reason, long ReservedOutputTokens, decimal EstimatedCostUsd, long EstimatedPromptTokens = 0);
