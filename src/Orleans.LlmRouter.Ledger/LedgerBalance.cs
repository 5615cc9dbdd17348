namespace Orleans.LlmRouter.Ledger;

/// <summary>A tenant's ledger per window, per run, and how many of its rows are quarantined or still spooled.</summary>
internal sealed record LedgerBalance(string TenantId, IReadOnlyList<WindowBalance> Windows, IReadOnlyList<WindowBalance> Runs, long QuarantinedRows, long SpooledRows);
