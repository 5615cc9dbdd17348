namespace Orleans.LlmRouter.Ledger;

/// <summary>Quarantined rows: how many in all, how many this process set aside since it started, and the newest ones.</summary>
internal sealed record QuarantineReport(long Count, long QuarantinedByThisProcess, IReadOnlyList<QuarantinedRecord> Rows);
