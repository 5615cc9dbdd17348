namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>The JSON body POSTed to a tenant's alert webhook.</summary>
internal sealed record SoftAlert(string Tenant, string Window, string Unit, decimal Used, decimal Limit, decimal Threshold, DateTimeOffset At);
