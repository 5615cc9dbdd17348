namespace Orleans.LlmRouter.Ledger;

/// <summary>Totals and a per-day breakdown for a query.</summary>
internal sealed record UsageReport(UsageQuery Query, UsageTotals Totals, IReadOnlyList<UsageDay> Days);
