namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>Usage of one calendar window: the key of the window it counts (e.g. <c>2026-11-22</c>), tokens and USD.</summary>
internal readonly record struct WindowCount(string Key, long Tokens, decimal Usd);
