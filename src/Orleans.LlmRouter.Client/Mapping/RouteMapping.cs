using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Client.Mapping;

/// <summary>
/// Builds the grain's <see cref="RouterContext"/> from a call's options and the client defaults, with the same
/// model semantics as the HTTP surface: a catalog model, <c>auto</c>, or <c>action:&lt;name&gt;</c>.
/// </summary>
internal static class RouteMapping
{
    private const string ActionPrefix = "action:";
    private const string Auto = "auto";

    public static RouterContext ForChat(ChatOptions? options, LlmRouterClientOptions defaults)
    {
        var hints = options.GetLlmRouterRouting();
        var (model, action) = Resolve(options?.ModelId, hints.Action);
        if (model is null && action is null)
        {
            (model, action) = Resolve(defaults.DefaultModelId ?? Auto, null);
        }

        return Build(hints, defaults, model, action);
    }

    public static RouterContext ForEmbedding(EmbeddingGenerationOptions? options, LlmRouterClientOptions defaults)
    {
        var hints = options.GetLlmRouterRouting();
        var (model, action) = Resolve(options?.ModelId, hints.Action);
        if (model is null && action is null)
        {
            // Still nothing: the router routes through its `embedding` action.
            (model, action) = Resolve(defaults.DefaultEmbeddingModelId, null);
        }

        return Build(hints, defaults, model, action);
    }

    private static (string? Model, string? Action) Resolve(string? modelId, string? action)
    {
        if (string.IsNullOrWhiteSpace(modelId))
        {
            return (null, action);
        }

        if (modelId.StartsWith(ActionPrefix, StringComparison.Ordinal))
        {
            return (null, modelId[ActionPrefix.Length..]);
        }

        // `auto` next to an action means "route by the action".
        return modelId == Auto && action is not null ? (null, action) : (modelId, action);
    }

    private static RouterContext Build(LlmRouterRouting hints, LlmRouterClientOptions defaults, string? model, string? action)
    {
        var tenant = hints.TenantId ?? defaults.DefaultTenantId;
        if (string.IsNullOrWhiteSpace(tenant))
        {
            throw new InvalidOperationException(
                "No tenant for this call: set LlmRouterClientOptions.DefaultTenantId (AddLlmRouterChatClient(o => o.DefaultTenantId = ...)) or pass options.WithLlmRouter(tenant: ...).");
        }

        return new RouterContext(tenant)
        {
            // A fresh id per call: it is the ledger's idempotency key, and middleware such as function invocation
            // reuses one ChatOptions instance for several calls.
            RequestId = Guid.NewGuid().ToString("N"),
            Model = model,
            Action = action,
            Strategy = hints.Strategy,
            RunId = hints.RunId,
            Tags = hints.Tags,
            MaxCostUsd = hints.MaxCostUsd,
            ProjectId = hints.ProjectId,
            KeyId = hints.KeyId,
            EndUser = hints.EndUser,
        };
    }
}
