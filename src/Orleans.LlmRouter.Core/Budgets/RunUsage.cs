namespace Orleans.LlmRouter.Core.Budgets;

/// <summary>What one run has used, and when it last settled a call.</summary>
internal readonly record struct RunUsage(long Tokens, decimal Usd, DateTimeOffset LastAt);
