namespace Orleans.LlmRouter.Ledger;

/// <summary>Usage totals per UTC day.</summary>
internal sealed record UsageDay(DateOnly Day, UsageTotals Totals);
