using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Providers.Common;

/// <summary>
/// One reasoning request in either provider's terms: an OpenAI effort from a thinking budget and an Anthropic
/// thinking budget from an effort (low 1,024, medium 4,096, high 16,384 tokens), so either surface's way of asking
/// reaches either kind of model.
/// </summary>
internal static class ReasoningMapping
{
    public static string? EffortOf(ChatRequest request) => request.ReasoningEffort is { } effort and not "none"
        ? effort
        : request.ThinkingBudgetTokens switch
        {
            null or <= 0 => null,
            < 4096 => "low",
            < 16384 => "medium",
            _ => "high",
        };

    public static int? BudgetOf(ChatRequest request) => request.ThinkingBudgetTokens is > 0 and var budget
        ? budget
        : request.ReasoningEffort switch
        {
            "low" => 1024,
            "medium" => 4096,
            "high" => 16384,
            _ => null,
        };
}
