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

    public IReadOnlyDictionary<string, ProviderDefinition> Providers { get; }

    public IReadOnlyDictionary<string, ModelDefinition> Models { get; }

    internal IReadOnlyDictionary<string, ActionDefinition> Actions { get; }

    internal IReadOnlyDictionary<string, TenantDefinition> Tenants { get; }

    /// <summary>Model aliases (YAML <c>aliases</c>) to the model they name.</summary>
    public IReadOnlyDictionary<string, ModelDefinition> Aliases { get; }

    public ProviderDefinition ProviderOf(ModelDefinition model) => Providers[model.Provider];

    /// <summary>A model by its name or one of its aliases: wherever a caller names a model, an alias works too.</summary>
    public bool TryGetModel(string nameOrAlias, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelDefinition? model)
    {
        ArgumentNullException.ThrowIfNull(nameOrAlias);
        return Models.TryGetValue(nameOrAlias, out model) || Aliases.TryGetValue(nameOrAlias, out model);
    }

    /// <summary>A provider by id, or a model's own scope by <c>model@provider</c> (see <see cref="ModelScopes"/>).</summary>
    public ProviderDefinition? ResolveScope(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (Providers.TryGetValue(id, out var provider))
        {
            return provider;
        }

        var at = id.LastIndexOf('@');
        return at > 0 && Models.TryGetValue(id[..at], out var model) && Providers.TryGetValue(id[(at + 1)..], out var owner) && model.Provider == owner.Id
            ? ModelScopes.For(owner, model)
            : null;
    }

    /// <summary>A copy of this catalog with the providers matching <paramref name="predicate"/> disabled for <paramref name="reason"/>.</summary>
    public ModelCatalog DisableProviders(Func<ProviderDefinition, bool> predicate, string reason) =>
        new(
            Providers.Values.Select(p => p.Enabled && predicate(p) ? p with { Enabled = false, DisabledReason = reason } : p),
            Models.Values,
            Actions.Values,
            Tenants.Values);
}
