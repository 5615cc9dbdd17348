namespace Orleans.LlmRouter.Ledger;

/// <summary>The ledger could not make a record durable (fail-closed mode, or the spool failed too).</summary>
internal sealed class LedgerUnavailableException : Exception
{
    public LedgerUnavailableException()
    {
    }

    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
