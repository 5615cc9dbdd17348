using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;

namespace Orleans.LlmRouter.Core.Routing;

/// <summary>
/// Builds the ordered candidate list for a request: an explicit model; an action's strategy chain followed by its
/// <c>default</c> chain (each model once); or <c>auto</c>: every capable model by provider priority, then estimated cost.
/// Each candidate is checked for provider availability, capabilities, context window, max cost and tenant permissions.
/// </summary>
internal sealed class RoutePlanner
{
    private readonly ModelCatalog _catalog;

    public RoutePlanner(ModelCatalog catalog) => _catalog = catalog;

    /// <summary>Plans a route. <paramref name="isProviderAvailable"/> answers from local state (no remote call).</summary>
    public RoutePlan Plan(RouteQuery query, Func<ProviderDefinition, ModelDefinition, string?>? isProviderAvailable = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var required = new HashSet<Capability>(query.Needs) { Capability.Chat };
        IEnumerable<ModelDefinition> chain;

        if (!string.IsNullOrEmpty(query.Model) && query.Model != RouteQuery.Auto)
        {
            if (!_catalog.TryGetModel(query.Model, out var model))
            {
                throw new RoutingException($"The model '{query.Model}' does not exist in the catalog.", "model", notFound: true);
            }

            if (query.IsEmbedding)
            {
                required.Remove(Capability.Chat);
            }

            // An explicit model that cannot do what the request asks is the caller's error (400), not a failed route.
            if (query.RefusesModel(model.Name) is null)
            {
                var missing = required.Where(c => CallerVisible.Contains(c) && !model.Has(c)).Select(c => c.ToName()).ToList();
                if (missing.Count > 0)
                {
                    throw new RoutingException(
                        $"The model '{model.Name}' lacks capability {string.Join(", ", missing)}, which this request needs ({string.Join("; ", missing.Select(Why))}).",
                        "model",
                        notFound: false) { MissingCapabilities = missing };
                }
            }

            chain = [model];
        }
        else if (!string.IsNullOrEmpty(query.Action))
        {
            if (!_catalog.Actions.TryGetValue(query.Action, out var action))
            {
                throw new RoutingException($"The action '{query.Action}' does not exist.", "model", notFound: true);
            }

            if (query.RefusesAction(action.Name) is { } who)
            {
                throw new RoutingException($"The action '{action.Name}' is not allowed for this {who}.", "model", notFound: true);
            }

            var strategy = string.IsNullOrEmpty(query.Strategy) ? ActionDefinition.DefaultStrategy : query.Strategy;
            if (!action.Strategies.TryGetValue(strategy, out var first))
            {
                throw new RoutingException($"The action '{action.Name}' has no strategy '{strategy}'.", "strategy", notFound: true);
            }

            if (action.Requires.Contains(Capability.Embedding) != query.IsEmbedding)
            {
                throw new RoutingException(
                    query.IsEmbedding
                        ? $"The action '{action.Name}' is for chat, not embeddings: it does not require capability embedding."
                        : $"The action '{action.Name}' is for embeddings (it requires capability embedding); a chat request cannot use it.",
                    "model",
                    notFound: false) { MissingCapabilities = [query.IsEmbedding ? Capability.Embedding.ToName() : Capability.Chat.ToName()] };
            }

            required.UnionWith(action.Requires);
            if (query.IsEmbedding)
            {
                required.Remove(Capability.Chat);
            }

            chain = first.Concat(action.Strategies[ActionDefinition.DefaultStrategy])
                .Distinct(StringComparer.Ordinal)
                .Select(name => _catalog.Models[name]);
        }
        else if (query.Model == RouteQuery.Auto)
        {
            if (query.IsEmbedding)
            {
                required.Remove(Capability.Chat);
            }

            chain = _catalog.Models.Values
                .Where(m => required.IsSubsetOf(m.Capabilities))
                .OrderBy(m => _catalog.ProviderOf(m).Priority)
                .ThenBy(m => CostCalculator.Estimate(m.Pricing, query.PromptTokens(m), OutputCap(query, m)))
                .ThenBy(m => m.Name, StringComparer.Ordinal);
        }
        else
        {
            throw new RoutingException("A model is required: a catalog model, 'auto', or 'action:<name>'.", "model", notFound: false);
        }

        var candidates = new List<RouteCandidate>();
        foreach (var model in chain)
        {
            var output = OutputCap(query, model);
            var prompt = query.PromptTokens(model);
            var cost = CostCalculator.Estimate(model.Pricing, prompt, output);
            var reason = Check(model, query, prompt, required, output, cost, isProviderAvailable);
            candidates.Add(new RouteCandidate(model, reason is null, reason ?? "eligible", output, cost, prompt));
        }

        return new RoutePlan(candidates, required);
    }

    /// <summary>
    /// Capabilities that follow from what the caller sent (the operation, images, documents, a schema, tools), so that an
    /// explicit model lacking one is a bad request, and so is a chain none of whose models has one
    /// (<see cref="CapabilityGap"/>). Long context follows from an estimate and stays a routing decision.
    /// </summary>
    private static readonly HashSet<Capability> CallerVisible =
        [Capability.Chat, Capability.Embedding, Capability.Vision, Capability.Documents, Capability.StructuredOutput, Capability.Tools];

    private static string Why(string capability) => capability switch
    {
        "chat" => "chat: a chat completion",
        "embedding" => "embedding: an embeddings request",
        "vision" => "vision: the messages hold images",
        "documents" => "documents: the messages hold PDF documents",
        "structured_output" => "structured_output: a JSON response_format",
        "tools" => "tools: the request offers tools",
        _ => capability,
    };

    /// <summary>
    /// When <paramref name="plan"/> has no eligible candidate: the caller's error (400, as for an explicit model) if a
    /// capability that follows from what the caller sent (<see cref="CallerVisible"/>: images, documents, a schema,
    /// tools) is held by no model the request could have reached (the chain's models; for <c>auto</c>, the catalog's);
    /// null when the plan has an eligible candidate or every needed capability exists somewhere in reach (then the
    /// route failed for other reasons: availability, budget, context window, cost).
    /// </summary>
    public RoutingException? CapabilityGap(RouteQuery query, RoutePlan plan)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Eligible.Any())
        {
            return null;
        }

        var auto = query.Model == RouteQuery.Auto;
        var reach = auto ? _catalog.Models.Values : plan.Candidates.Select(c => c.Model);
        var missing = plan.Required.Where(c => CallerVisible.Contains(c) && !reach.Any(m => m.Has(c))).Select(c => c.ToName()).ToList();
        if (missing.Count == 0)
        {
            return null;
        }

        var what = auto ? "Every model of the catalog" : $"Every model of action '{query.Action}'";
        return new RoutingException(
            $"{what} lacks capability {string.Join(", ", missing)}, which this request needs ({string.Join("; ", missing.Select(Why))}).",
            "model",
            notFound: false) { MissingCapabilities = missing };
    }

    /// <summary>The output tokens reserved for a call: the request's cap, bounded by the model's maximum.</summary>
    public static long OutputCap(RouteQuery query, ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(model);
        return query.MaxOutputTokens is { } requested ? Math.Min(requested, model.MaxOutputTokens) : model.MaxOutputTokens;
    }

    private string? Check(ModelDefinition model, RouteQuery query, long prompt, HashSet<Capability> required, long output, decimal cost, Func<ProviderDefinition, ModelDefinition, string?>? isProviderAvailable)
    {
        var provider = _catalog.ProviderOf(model);
        if (model.Deployments.Count == 0 && !provider.Enabled)
        {
            return Disabled(provider);
        }

        if (query.RefusesModel(model.Name) is { } level)
        {
            return "model not allowed for this " + level;
        }

        var missing = required.Where(c => !model.Has(c)).Select(c => c.ToName()).ToList();
        if (missing.Count > 0)
        {
            return "lacks capability " + string.Join(", ", missing);
        }

        if (!model.Has(Capability.Embedding) && prompt + output > model.ContextWindow)
        {
            // A prompt that fits with a smaller output is still routable: only the prompt itself must fit.
            if (prompt >= model.ContextWindow)
            {
                return $"context window {model.ContextWindow} too small for ~{prompt} prompt tokens";
            }
        }

        if (query.MaxCostUsd is { } max && cost > max)
        {
            return $"estimated cost {cost:0.######} USD over max cost {max:0.######} USD";
        }

        return model.Deployments.Count == 0 ? isProviderAvailable?.Invoke(provider, model) : Deployments(model, isProviderAvailable);
    }

    /// <summary>A model with deployments is available while one of them is; otherwise the reason of each.</summary>
    private string? Deployments(ModelDefinition model, Func<ProviderDefinition, ModelDefinition, string?>? isProviderAvailable)
    {
        var reasons = new List<string>(model.Deployments.Count);
        foreach (var view in _catalog.DeploymentsOf(model))
        {
            var deployment = view.Deployment!;
            var host = _catalog.Providers[deployment.Provider];
            var reason = host.Enabled ? isProviderAvailable?.Invoke(host, view) : Disabled(host);
            if (reason is null)
            {
                return null;
            }

            reasons.Add($"deployment '{deployment.Id}': {reason}");
        }

        return "no deployment is available (" + string.Join("; ", reasons) + ")";
    }

    private static string Disabled(ProviderDefinition provider) =>
        $"provider '{provider.Id}' is disabled" + (provider.DisabledReason is { } why ? $": {why}" : string.Empty);
}
