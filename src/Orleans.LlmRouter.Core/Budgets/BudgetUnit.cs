namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>What a limit counts.</summary>
internal enum BudgetUnit
{
    Tokens,
    Usd,
}
