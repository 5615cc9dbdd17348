namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// An append was refused because a newer writer of the tenant's rows raised the fence (<see cref="ILedger.FenceAsync"/>):
/// the record's writer is an activation that was replaced. Nothing was stored.
/// </summary>
internal sealed class LedgerFencedException : Exception
{
    public LedgerFencedException()
    {
    }

    public LedgerFencedException(string message)
        : base(message)
    {
    }

    public LedgerFencedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
