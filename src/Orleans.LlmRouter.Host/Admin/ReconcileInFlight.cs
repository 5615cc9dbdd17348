namespace Orleans.LlmRouter.Host.Admin;

/// <summary>Reservations in flight: how many, and the tokens and USD they hold.</summary>
internal sealed record ReconcileInFlight(int Reservations, long Tokens, decimal Usd);
