using System.Text.RegularExpressions;
using Orleans.LlmRouter.Configuration.Mcp;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Mcp;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

/// <summary>
/// Loads the catalog from YAML: one file, or a directory whose <c>*.yaml</c>/<c>*.yml</c> files (recursively, in
/// ordinal path order) are merged. Every error is collected with its file and line; if there is any, loading throws
/// <see cref="ConfigurationException"/> listing them all, so nothing half-starts.
/// </summary>
public sealed partial class CatalogLoader
{
    private readonly IReadOnlySet<string>? _providerTypes;
    private readonly Func<string, string?> _environment;

    /// <param name="providerTypes">
    /// The provider types a provider may name: a host passes the types registered on its container
    /// (<c>services.LlmRouterProviderTypeNames()</c> after <c>AddLlmRouterProviderType</c> calls). Null accepts any
    /// type name (a catalog read only for its models and prices); the silo still disables providers of a type without an adapter.
    /// </param>
    /// <param name="environment">Reads environment variables (default: the process environment); only presence is checked.</param>
    public CatalogLoader(IReadOnlySet<string>? providerTypes = null, Func<string, string?>? environment = null)
    {
        _providerTypes = providerTypes;
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <summary>Loads a file or a directory of files.</summary>
    public CatalogLoadResult LoadPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        IEnumerable<string> files;
        if (Directory.Exists(path))
        {
            // A Kubernetes ConfigMap volume holds each file twice: the visible name is a link into a hidden
            // "..<timestamp>" directory (through "..data"). Directories whose name starts with ".." are skipped.
            files = Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Where(f => !Path.GetRelativePath(path, f).Split(Path.DirectorySeparatorChar).SkipLast(1).Any(d => d.StartsWith("..", StringComparison.Ordinal)))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
        else if (File.Exists(path))
        {
            files = [path];
        }
        else
        {
            throw new ConfigurationException([new ConfigError(new SourceLocation(path, 0, 0), "configuration path does not exist")]);
        }

        var cwd = Directory.GetCurrentDirectory();
        var sources = files.Select(f => (DisplayPath(cwd, f), File.ReadAllText(f))).ToList();
        if (sources.Count == 0)
        {
            throw new ConfigurationException([new ConfigError(new SourceLocation(path, 0, 0), "no .yaml or .yml files found")]);
        }

        return Load(sources);
    }

    /// <summary>Loads and merges YAML texts, each named by a file name used in error locations.</summary>
    public CatalogLoadResult Load(IEnumerable<(string File, string Text)> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var errors = new List<ConfigError>();
        var parsed = new ParsedConfig();
        var files = new List<string>();
        foreach (var (file, text) in sources)
        {
            files.Add(file);
            Parse(file, text, parsed, errors);
        }

        var notices = new List<string>();
        var providers = Validate(parsed, errors, notices);
        var mcpServers = ValidateMcp(parsed, errors, notices);
        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors.OrderBy(e => e.Location.File, StringComparer.Ordinal).ThenBy(e => e.Location.Line).ToList());
        }

        var catalog = new ModelCatalog(providers, parsed.Models.Select(m => m.Value), parsed.Actions.Select(a => a.Value), parsed.Tenants.Select(t => t.Value))
        {
            McpServers = mcpServers,
        };
        return new CatalogLoadResult(catalog, notices, files);
    }

    private static string DisplayPath(string cwd, string file)
    {
        var relative = Path.GetRelativePath(cwd, file);
        return relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(file) : relative;
    }

    private static void Parse(string file, string text, ParsedConfig into, List<ConfigError> errors)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            errors.Add(new ConfigError(new SourceLocation(file, (int)ex.Start.Line, (int)ex.Start.Column), "unreadable YAML: " + ex.Message));
            return;
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet reports some malformed documents this way, without a position.
            errors.Add(new ConfigError(new SourceLocation(file, 0, 0), "unreadable YAML: " + ex.Message));
            return;
        }

        var reader = new YamlNodeReader(file, errors);
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (document.RootNode is not YamlMappingNode root)
            {
                reader.Error(document.RootNode, "the top level must be a mapping with providers, models, actions, tenants and/or mcp_servers");
                continue;
            }

            reader.CheckKeys(root, "the top level", "providers", "models", "actions", "tenants", "mcp_servers");
            if (reader.Get(root, "providers") is { } p)
            {
                foreach (var map in reader.Items(p, "providers"))
                {
                    var provider = ProviderParser.Parse(reader, map);
                    if (provider is not null && reader.Get(map, "type") is { } typeNode)
                    {
                        into.TypeLocations[provider] = reader.At(typeNode);
                    }

                    Add(into.Providers, provider, x => x.Id, "provider", reader, map);
                }
            }

            if (reader.Get(root, "models") is { } m)
            {
                foreach (var map in reader.Items(m, "models"))
                {
                    if (reader.Get(map, "name") is YamlScalarNode { Value: { } declared })
                    {
                        into.DeclaredModels.Add(declared);
                    }

                    Add(into.Models, ModelParser.Parse(reader, map, into.AliasRefs), x => x.Name, "model", reader, map);
                }
            }

            if (reader.Get(root, "actions") is { } a)
            {
                foreach (var map in reader.Items(a, "actions"))
                {
                    var action = ActionParser.Parse(reader, map, into.ChainRefs);
                    Add(into.Actions, action, x => x.Name, "action", reader, map);
                }
            }

            if (reader.Get(root, "tenants") is { } t)
            {
                foreach (var map in reader.Items(t, "tenants"))
                {
                    Add(into.Tenants, TenantParser.Parse(reader, map, into.McpRefs), x => x.Id, "tenant", reader, map);
                }
            }

            if (reader.Get(root, "mcp_servers") is { } mcp)
            {
                foreach (var map in reader.Items(mcp, "mcp_servers"))
                {
                    Add(into.McpServers, McpServerParser.Parse(reader, map), x => x.Id, "MCP server", reader, map);
                }
            }
        }
    }

    private static void Add<T>(List<KeyValuePair<string, T>> list, T? item, Func<T, string> key, string kind, YamlNodeReader reader, YamlMappingNode map)
        where T : class
    {
        if (item is null)
        {
            return;
        }

        var name = key(item);
        var first = list.FindIndex(kv => kv.Key == name);
        if (first >= 0)
        {
            var where = LocationOf(list[first].Value);
            reader.Error(map, $"duplicate {kind} '{name}' (first defined at {where})");
            return;
        }

        list.Add(new(name, item));
    }

    private static SourceLocation LocationOf(object item) => item switch
    {
        ProviderDefinition p => p.Location,
        ModelDefinition m => m.Location,
        ActionDefinition a => a.Location,
        TenantDefinition t => t.Location,
        McpServerDefinition s => s.Location,
        _ => SourceLocation.None,
    };

    private List<ProviderDefinition> Validate(ParsedConfig parsed, List<ConfigError> errors, List<string> notices)
    {
        var providers = new List<ProviderDefinition>();
        foreach (var (_, provider) in parsed.Providers)
        {
            if (_providerTypes is not null && !_providerTypes.Contains(provider.Type))
            {
                errors.Add(new(parsed.TypeLocations.GetValueOrDefault(provider, provider.Location), $"provider '{provider.Id}' has unknown type '{provider.Type}' (known: {string.Join(", ", _providerTypes.Order(StringComparer.Ordinal))})"));
            }

            var effective = provider;
            if (provider.Enabled && provider.ApiKeyEnv is { } env && string.IsNullOrEmpty(_environment(env)))
            {
                var why = $"environment variable {env} is not set";
                effective = provider with { Enabled = false, DisabledReason = why };
                notices.Add($"Provider '{provider.Id}' is disabled: {why}.");
            }
            else if (!provider.Enabled)
            {
                effective = provider with { DisabledReason = "disabled in configuration" };
                notices.Add($"Provider '{provider.Id}' is disabled in configuration.");
            }

            providers.Add(effective);
        }

        var providerIds = providers.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (_, model) in parsed.Models)
        {
            if (model.Deployments.Count > 0)
            {
                foreach (var deployment in model.Deployments.Where(d => !providerIds.Contains(d.Provider)))
                {
                    errors.Add(new(deployment.Location, $"deployment '{deployment.Id}' of model '{model.Name}' names unknown provider '{deployment.Provider}'"));
                }
            }
            else if (!providerIds.Contains(model.Provider))
            {
                errors.Add(new(model.Location, $"model '{model.Name}' names unknown provider '{model.Provider}'"));
            }
        }

        // documents: only where the adapter passes PDFs on (a host's own type decides for itself).
        var typeOf = providers.GroupBy(p => p.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Type, StringComparer.Ordinal);
        foreach (var (_, model) in parsed.Models.Where(m => m.Value.Has(Capability.Documents)))
        {
            var hosts = model.Deployments.Count > 0 ? model.Deployments.Select(d => d.Provider) : [model.Provider];
            foreach (var host in hosts.Distinct(StringComparer.Ordinal))
            {
                if (typeOf.TryGetValue(host, out var type) && ProviderTypes.WithoutDocuments.Contains(type))
                {
                    errors.Add(new(model.Location, $"model '{model.Name}' declares capability documents, but provider '{host}' is of type '{type}', whose adapter does not pass PDF documents on (documents: anthropic, openai, simulated)"));
                }
            }
        }

        var models = parsed.Models.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

        // An alias names exactly one model: never another model's name, never another model's alias.
        var aliasOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var alias in parsed.AliasRefs)
        {
            if (parsed.DeclaredModels.Contains(alias.Alias))
            {
                errors.Add(new(alias.Location, $"alias '{alias.Alias}' of model '{alias.Model}' is the name of a model"));
            }
            else if (!aliasOwners.TryAdd(alias.Alias, alias.Model))
            {
                errors.Add(new(alias.Location, $"alias '{alias.Alias}' of model '{alias.Model}' is already an alias of model '{aliasOwners[alias.Alias]}'"));
            }
        }

        foreach (var (_, action) in parsed.Actions)
        {
            if (!action.Strategies.ContainsKey(ActionDefinition.DefaultStrategy))
            {
                errors.Add(new(action.Location, $"action '{action.Name}' has no '{ActionDefinition.DefaultStrategy}' strategy"));
            }
        }

        foreach (var chainRef in parsed.ChainRefs)
        {
            if (!models.TryGetValue(chainRef.Model, out var model))
            {
                if (parsed.DeclaredModels.Contains(chainRef.Model))
                {
                    continue; // the model itself is invalid and already reported
                }

                errors.Add(new(chainRef.Location, $"strategy '{chainRef.Strategy}' of action '{chainRef.Action.Name}' names unknown model '{chainRef.Model}'"));
                continue;
            }

            var missing = chainRef.Action.Requires.Where(c => !model.Has(c)).Select(c => c.ToName()).ToList();
            if (missing.Count > 0)
            {
                errors.Add(new(chainRef.Location, $"model '{model.Name}' in strategy '{chainRef.Strategy}' of action '{chainRef.Action.Name}' lacks required capability {string.Join(", ", missing)}"));
            }
        }

        foreach (var (_, tenant) in parsed.Tenants)
        {
            foreach (var allowed in tenant.AllowedModels.Where(m => !models.ContainsKey(m)))
            {
                errors.Add(new(tenant.Location, $"tenant '{tenant.Id}' allows unknown model '{allowed}'"));
            }

            foreach (var allowed in tenant.AllowedActions.Where(a => parsed.Actions.All(x => x.Key != a)))
            {
                errors.Add(new(tenant.Location, $"tenant '{tenant.Id}' allows unknown action '{allowed}'"));
            }

            if (tenant.Cache?.Semantic is { } semantic && !(models.TryGetValue(semantic.Model, out var embedder) && embedder.Has(Capability.Embedding)))
            {
                errors.Add(new(tenant.Location, $"semantic cache of tenant '{tenant.Id}' names '{semantic.Model}', which is not a catalog model with capability embedding"));
            }
        }

        return providers;
    }

    private Dictionary<string, McpServerDefinition> ValidateMcp(ParsedConfig parsed, List<ConfigError> errors, List<string> notices)
    {
        var servers = new Dictionary<string, McpServerDefinition>(StringComparer.Ordinal);
        foreach (var (_, server) in parsed.McpServers)
        {
            var effective = server;
            if (server.Enabled && server.ApiKeyEnv is { } env && string.IsNullOrEmpty(_environment(env)))
            {
                var why = $"environment variable {env} is not set";
                effective = server with { Enabled = false, DisabledReason = why };
                notices.Add($"MCP server '{server.Id}' is disabled: {why}.");
            }
            else if (!server.Enabled)
            {
                effective = server with { DisabledReason = "disabled in configuration" };
                notices.Add($"MCP server '{server.Id}' is disabled in configuration.");
            }

            servers[server.Id] = effective;
        }

        foreach (var reference in parsed.McpRefs.Where(r => !servers.ContainsKey(r.Server)))
        {
            var named = reference.Tool is null ? $"MCP server '{reference.Server}'" : $"tool '{reference.Server}{McpToolNames.Separator}{reference.Tool}' of MCP server '{reference.Server}'";
            errors.Add(new(reference.Location, $"{reference.Owner} allows {named}, which is not in mcp_servers"));
        }

        foreach (var reference in parsed.McpRefs.Where(r => r.Tool is { } tool && tool != "*" && servers.TryGetValue(r.Server, out _)))
        {
            // A tool allowed on a server the same list leaves out can never be called: a typo, said at load.
            var sameOwnerServers = parsed.McpRefs.Where(r => r.Owner == reference.Owner && r.Tool is null).Select(r => r.Server).ToList();
            if (sameOwnerServers.Count > 0 && !sameOwnerServers.Contains(reference.Server, StringComparer.Ordinal))
            {
                errors.Add(new(reference.Location, $"{reference.Owner} allows tool '{reference.Server}{McpToolNames.Separator}{reference.Tool}' but not its MCP server '{reference.Server}' (add it to mcp.servers)"));
            }
        }

        return servers;
    }

    internal static bool IsValidName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
    private static partial Regex NamePattern();

    internal sealed record ChainRef(ActionDefinition Action, string Strategy, string Model, SourceLocation Location);

    /// <summary>An alias as declared, for the uniqueness check across models and files.</summary>
    internal sealed record AliasRef(string Alias, string Model, SourceLocation Location);

    private sealed class ParsedConfig
    {
        public List<KeyValuePair<string, ProviderDefinition>> Providers { get; } = [];

        public List<KeyValuePair<string, ModelDefinition>> Models { get; } = [];

        public List<KeyValuePair<string, ActionDefinition>> Actions { get; } = [];

        public List<KeyValuePair<string, TenantDefinition>> Tenants { get; } = [];

        public List<KeyValuePair<string, McpServerDefinition>> McpServers { get; } = [];

        public List<McpServerParser.McpRef> McpRefs { get; } = [];

        public List<ChainRef> ChainRefs { get; } = [];

        public List<AliasRef> AliasRefs { get; } = [];

        public HashSet<string> DeclaredModels { get; } = new(StringComparer.Ordinal);

        public Dictionary<ProviderDefinition, SourceLocation> TypeLocations { get; } = new(ReferenceEqualityComparer.Instance);
    }
}
