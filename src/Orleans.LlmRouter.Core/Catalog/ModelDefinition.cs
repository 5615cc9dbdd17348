namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>A logical model name mapped to one provider's model.</summary>
public sealed record ModelDefinition(
    string Name,
    string Provider,
    string ProviderModel,
    IReadOnlySet<Capability> Capabilities,
    int ContextWindow,
    int MaxOutputTokens,
    ModelPricing Pricing,
    string? Tier,
    SourceLocation Location,
    ProviderLimits? Limits = null,
    BreakerSettings? Breaker = null)
{
    /// <summary>True when the model has <paramref name="capability"/>.</summary>
    public bool Has(Capability capability) => Capabilities.Contains(capability);

    /// <summary>
    /// Other names the model answers to (YAML <c>aliases</c>), e.g. the model ids Claude Code or Codex send by default;
    /// unique across model names and aliases (the loader checks).
    /// </summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>
    /// True when the model has its own rate limits or circuit breaker, on top of its provider's; a deployment view
    /// (<see cref="Deployment"/> set) always has its own scope.
    /// </summary>
    public bool HasOwnScope => Limits is not null || Breaker is not null || Deployment is not null;

    /// <summary>
    /// The model's deployments when it lists several (<c>deployments:</c>); empty for the single-provider form, where
    /// <see cref="Provider"/> and <see cref="ProviderModel"/> are the one implicit deployment. When set,
    /// <see cref="Provider"/> and <see cref="ProviderModel"/> are those of the first deployment.
    /// </summary>
    public IReadOnlyList<DeploymentDefinition> Deployments { get; init; } = [];

    /// <summary>How the deployments are balanced (<c>balance:</c>, default weighted).</summary>
    public BalanceStrategy Balance { get; init; } = BalanceStrategy.Weighted;

    /// <summary>Set on the view of one deployment (<see cref="ViewOf"/>): the deployment this definition calls.</summary>
    public DeploymentDefinition? Deployment { get; init; }

    /// <summary>
    /// This model as one of its deployments serves it: the deployment's provider, provider model, limits, breaker and
    /// prices (the model's when the deployment sets none); same name and capabilities.
    /// </summary>
    public ModelDefinition ViewOf(DeploymentDefinition deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return this with
        {
            Provider = deployment.Provider,
            ProviderModel = deployment.ProviderModel,
            Pricing = deployment.Pricing ?? Pricing,
            Limits = deployment.Limits,
            Breaker = deployment.Breaker,
            Deployment = deployment,
            Deployments = [],
        };
    }
}
