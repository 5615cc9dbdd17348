namespace Orleans.LlmRouter.Ledger;

/// <summary>What the ledger does when PostgreSQL cannot take a write.</summary>
internal enum LedgerOutageMode
{
    /// <summary>Write the records to a local append-only spool file (flushed to disk) and replay them later. Calls go on.</summary>
    Spool,

    /// <summary>Fail the settle: the caller gets an error instead of a response, and nothing is delivered unbilled.</summary>
    FailClosed,
}
