namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>The validated, immutable catalog: providers, models, actions and dev tenants.</summary>
public sealed class ModelCatalog
{
    internal ModelCatalog(
        IEnumerable<ProviderDefinition> providers,
        IEnumerable<ModelDefinition> models,
        IEnumerable<ActionDefinition> actions,
        IEnumerable<TenantDefinition> tenants)
    {
        Providers = providers.ToDictionary(p => p.Id, StringComparer.Ordinal);
        Models = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
        Actions = actions.ToDictionary(a => a.Name, StringComparer.Ordinal);
        Tenants = tenants.ToDictionary(t => t.Id, StringComparer.Ordinal);
        _views = Models.Values.Where(m => m.Deployments.Count > 0)
            .ToDictionary(m => m.Name, m => (IReadOnlyList<ModelDefinition>)m.Deployments.Select(m.ViewOf).ToArray(), StringComparer.Ordinal);
        var aliases = new Dictionary<string, ModelDefinition>(StringComparer.Ordinal);
        foreach (var model in Models.Values)
        {
            foreach (var alias in model.Aliases)
            {
                aliases.TryAdd(alias, model);
            }
        }

        Aliases = aliases;
    }

    private readonly Dictionary<string, IReadOnlyList<ModelDefinition>> _views;

    /// <summary>
    /// The views of a model's deployments (<see cref="ModelDefinition.ViewOf"/>), in configuration order, built once;
    /// empty for a single-provider model.
    /// </summary>
    public IReadOnlyList<ModelDefinition> DeploymentsOf(ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Deployments.Count > 0 && _views.TryGetValue(model.Name, out var views) ? views : [];
    }

    /// <summary>Every provider, by id (disabled ones included).</summary>
    public IReadOnlyDictionary<string, ProviderDefinition> Providers { get; }

    /// <summary>Every model, by logical name.</summary>
    public IReadOnlyDictionary<string, ModelDefinition> Models { get; }

    internal IReadOnlyDictionary<string, ActionDefinition> Actions { get; }

    internal IReadOnlyDictionary<string, TenantDefinition> Tenants { get; }

    /// <summary>The MCP servers behind <c>/mcp</c> (YAML <c>mcp_servers:</c>), by id, disabled ones included.</summary>
    internal IReadOnlyDictionary<string, Mcp.McpServerDefinition> McpServers { get; init; } = new Dictionary<string, Mcp.McpServerDefinition>(StringComparer.Ordinal);

    /// <summary>Model aliases (YAML <c>aliases</c>) to the model they name.</summary>
    public IReadOnlyDictionary<string, ModelDefinition> Aliases { get; }

    /// <summary>The provider that serves <paramref name="model"/> (a model of this catalog).</summary>
    public ProviderDefinition ProviderOf(ModelDefinition model) => Providers[model.Provider];

    /// <summary>A model by its name or one of its aliases: wherever a caller names a model, an alias works too.</summary>
    public bool TryGetModel(string nameOrAlias, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelDefinition? model)
    {
        ArgumentNullException.ThrowIfNull(nameOrAlias);
        return Models.TryGetValue(nameOrAlias, out model) || Aliases.TryGetValue(nameOrAlias, out model);
    }

    /// <summary>
    /// A provider by id, or a model's own scope by <c>model@provider</c>, or a deployment's by <c>model@deployment</c>
    /// (see <see cref="ModelScopes"/>).
    /// </summary>
    public ProviderDefinition? ResolveScope(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (Providers.TryGetValue(id, out var provider))
        {
            return provider;
        }

        var at = id.LastIndexOf('@');
        if (at <= 0 || !Models.TryGetValue(id[..at], out var model))
        {
            return null;
        }

        var scope = id[(at + 1)..];
        if (model.Deployments.Count > 0)
        {
            return model.Deployments.FirstOrDefault(d => d.Id == scope) is { } deployment && Providers.TryGetValue(deployment.Provider, out var host)
                ? ModelScopes.For(host, DeploymentsOf(model).First(v => v.Deployment == deployment))
                : null;
        }

        return Providers.TryGetValue(scope, out var owner) && model.Provider == owner.Id
            ? ModelScopes.For(owner, model)
            : null;
    }

    /// <summary>A copy of this catalog with the providers matching <paramref name="predicate"/> disabled for <paramref name="reason"/>.</summary>
    public ModelCatalog DisableProviders(Func<ProviderDefinition, bool> predicate, string reason) =>
        new(
            Providers.Values.Select(p => p.Enabled && predicate(p) ? p with { Enabled = false, DisabledReason = reason } : p),
            Models.Values,
            Actions.Values,
            Tenants.Values)
        {
            McpServers = McpServers,
        };
}
