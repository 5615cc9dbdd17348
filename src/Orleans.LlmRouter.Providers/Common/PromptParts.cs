using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Tokens;

namespace Orleans.LlmRouter.Providers.Common;

/// <summary>
/// Messages reduced to what prompt counting needs (<see cref="PromptPart"/>): the text, the images, and the tokens of
/// each document by <see cref="DocumentTokens"/>' rule. The one reduction the router, <c>count_tokens</c> and the
/// simulated provider use, so all three count a request alike.
/// </summary>
internal static class PromptParts
{
    public static PromptPart[] Of(IReadOnlyList<RouterMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var parts = new PromptPart[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var images = 0;
            long documents = 0;
            foreach (var p in m.Content)
            {
                switch (p.Kind)
                {
                    case ContentPartKind.Image:
                        images++;
                        break;
                    case ContentPartKind.Document:
                        documents += p.Data is not null ? DocumentTokens.ForData(p.Data) : DocumentTokens.ForUrl();
                        documents += TokenEstimator.EstimateText(p.Title);
                        break;
                }
            }

            parts[i] = new PromptPart(m.Text, images, documents);
        }

        return parts;
    }

    /// <summary>The tool definitions as one text (names, descriptions and schemas), or null without tools.</summary>
    public static string? ToolsText(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Tools is { Count: > 0 } t ? string.Concat(t.Select(x => x.Name + x.Description + x.ParametersJson)) : null;
    }
}
