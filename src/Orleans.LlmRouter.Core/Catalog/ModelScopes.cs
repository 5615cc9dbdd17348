namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>
/// Per-model provider state: a model with its own <c>limits</c> or <c>circuit_breaker</c> gets a second scope, with id
/// <c>model@provider</c>, admitted and reported next to its provider's scope. Same provider type, URL and retry; its own
/// limits (none when unset) and breaker (one that never opens when unset, so only the provider's breaker trips).
/// </summary>
internal static class ModelScopes
{
    /// <summary>A breaker that never opens (a model scope with limits only).</summary>
    public static BreakerSettings NeverOpens { get; } = new(1.0, int.MaxValue);

    /// <summary><c>model@provider</c>, or <c>model@deployment</c> for a deployment view.</summary>
    public static string IdOf(ProviderDefinition provider, ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        return model.Name + "@" + (model.Deployment?.Id ?? provider.Id);
    }

    /// <summary>
    /// The model's own scope, or null when it has none. A deployment's scope has the deployment's limits and its own
    /// breaker (the deployment's settings, else its provider's), so one deployment's failures open only its circuit.
    /// </summary>
    public static ProviderDefinition? For(ProviderDefinition provider, ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        if (!model.HasOwnScope)
        {
            return null;
        }

        var breaker = model.Breaker ?? (model.Deployment is not null ? provider.Breaker : NeverOpens);
        return provider with { Id = IdOf(provider, model), Limits = model.Limits ?? ProviderLimits.Unlimited, Breaker = breaker, HealthCheckInterval = null };
    }
}
