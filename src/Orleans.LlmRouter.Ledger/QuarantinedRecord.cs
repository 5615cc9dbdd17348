namespace Orleans.LlmRouter.Ledger;

/// <summary>One ledger row the store refused for its data, kept aside with the reason.</summary>
/// <param name="RequestId">The row's request id (NUL characters shown as U+FFFD).</param>
/// <param name="TenantId">The row's tenant (NUL characters shown as U+FFFD).</param>
/// <param name="Record">The row as it was settled, or null when it could not be read back.</param>
/// <param name="SqlState">The PostgreSQL error code (e.g. 22021), when the store gave one.</param>
/// <param name="Error">The store's error message (never the row's values).</param>
/// <param name="QuarantinedAt">When the row was set aside.</param>
/// <param name="Location"><c>postgres</c> (table <c>llm_calls_quarantine</c>) or <c>file</c> (a local quarantine file, when the table was unavailable too).</param>
internal sealed record QuarantinedRecord(string RequestId, string TenantId, LedgerRecord? Record, string? SqlState, string Error, DateTimeOffset QuarantinedAt, string Location);
