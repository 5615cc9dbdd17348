namespace Orleans.LlmRouter.Ledger;

/// <summary>Rows, tokens (prompt + completion) and cost in one window or run.</summary>
internal sealed record WindowBalance(string Window, string? Key, long Rows, long Tokens, decimal CostUsd);
