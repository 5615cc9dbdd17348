namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>What one run has used, and when it last settled a call.</summary>
public readonly record struct RunUsage(long Tokens, decimal Usd, DateTimeOffset LastAt);
