namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Settings of the tenant budget grains (<c>LlmRouter:Budgets</c>).</summary>
public sealed class BudgetOptions
{
    /// <summary>
    /// How long a reservation stays in flight without a renewal. The silo running a call renews its reservations every
    /// third of this; when that silo dies they expire, and the tenant's budget comes back, within one lease term.
    /// </summary>
    public TimeSpan ReservationLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A run that settled nothing for this long is dropped from the grain's state (its totals stay in the ledger).</summary>
    public TimeSpan RunIdleTimeout { get; set; } = TimeSpan.FromHours(24);
}
