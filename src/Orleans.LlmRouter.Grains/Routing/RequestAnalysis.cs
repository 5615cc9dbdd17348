using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Reduces a request and its routing context to the <see cref="RouteQuery"/> that routing decides on.</summary>
internal static class RequestAnalysis
{
    public static RouteQuery ToQuery(ChatRequest request, RouterContext context, TenantDefinition? tenant, Func<ModelDefinition, IReadOnlyList<PromptPart>, string?, long>? countFor = null)
    {
        var needs = new HashSet<Capability>();
        if (request.HasImages)
        {
            needs.Add(Capability.Vision);
        }

        if (request.HasDocuments)
        {
            needs.Add(Capability.Documents);
        }

        if (request.ResponseFormat is { Kind: not ResponseFormatKind.Text })
        {
            needs.Add(Capability.StructuredOutput);
        }

        if (request.Tools is { Count: > 0 } && request.ToolChoice != "none")
        {
            needs.Add(Capability.Tools);
        }

        var parts = PromptParts.Of(request.Messages);
        var tools = PromptParts.ToolsText(request);
        var prompt = TokenEstimator.EstimatePrompt(parts, tools);
        if (prompt > LongContextThreshold)
        {
            needs.Add(Capability.LongContext);
        }

        return new RouteQuery
        {
            Model = context.Model,
            Action = context.Action,
            Strategy = context.Strategy,
            Needs = needs,
            EstimatedPromptTokens = prompt,
            PromptTokensFor = countFor is null ? null : model => countFor(model, parts, tools),
            MaxOutputTokens = request.MaxOutputTokens,
            MaxCostUsd = context.MaxCostUsd,
            Tenant = tenant,
        };
    }

    /// <summary>Prompts above this many estimated tokens need a long-context model.</summary>
    public const long LongContextThreshold = 128_000;
}
