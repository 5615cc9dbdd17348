namespace Orleans.LlmRouter.Host.Admin;

/// <summary>One window of an audit; differences are <c>counter − ledger</c>, null where a side is not compared.</summary>
internal sealed record ReconcileWindow(string Window, string? Key, long LedgerRows, long LedgerTokens, long? CounterTokens, long? TokenDifference, decimal LedgerUsd, decimal? CounterUsd, decimal? UsdDifference, bool Consistent, string? Note);
