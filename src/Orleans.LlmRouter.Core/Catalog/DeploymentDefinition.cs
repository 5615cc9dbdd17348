namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// One deployment of a logical model: a provider and its model name, with a share (<see cref="Weight"/>) and, when
/// set, its own limits, circuit breaker and prices. Each deployment has its own provider state for the whole cluster
/// (a scope with id <c>model@deployment</c>, see <see cref="ModelScopes"/>), on top of its provider's.
/// </summary>
/// <param name="Id">Unique within the model; defaults to the provider id in YAML.</param>
/// <param name="Provider">The provider id.</param>
/// <param name="ProviderModel">The model name the provider knows (an Azure deployment name, a Bedrock model id, …).</param>
/// <param name="Weight">Relative share under <see cref="BalanceStrategy.Weighted"/> (and the tie-break of the others); positive.</param>
/// <param name="Limits">The deployment's own rpm/tpm/concurrency; null for none beyond the provider's.</param>
/// <param name="Breaker">The deployment's own breaker settings; null to use its provider's settings.</param>
/// <param name="Pricing">The deployment's prices; null to use the model's.</param>
/// <param name="Location">Where the deployment was written.</param>
public sealed record DeploymentDefinition(
    string Id,
    string Provider,
    string ProviderModel,
    int Weight,
    ProviderLimits? Limits,
    BreakerSettings? Breaker,
    ModelPricing? Pricing,
    SourceLocation Location);
