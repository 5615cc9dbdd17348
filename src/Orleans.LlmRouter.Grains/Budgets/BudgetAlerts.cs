using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Core.Budgets;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>
/// Soft alerts of a tenant's accounts: once per window and unit, when a settle makes usage cross the account's threshold
/// (or the tenant's), a log line and a JSON POST to the account's webhook (or the tenant's), off the settle path.
/// </summary>
internal sealed partial class BudgetAlerts(string tenantId, IHttpClientFactory http, RouterClockAccessor clock, ILogger logger)
{
    /// <summary>Name of the HTTP client used for alert webhooks (5 s timeout).</summary>
    public const string ClientName = "llmrouter-alerts";

    /// <summary>The tenant's own threshold and webhook, for accounts without theirs.</summary>
    public (decimal Threshold, string? Webhook) Defaults { get; set; } = (0.8m, null);

    /// <summary>Raises the alerts <paramref name="account"/>'s usage crossed (<paramref name="who"/> names it in the log).</summary>
    public void Raise(BudgetAccount account, string who)
    {
        ArgumentNullException.ThrowIfNull(account);
        var threshold = account.AlertThreshold ?? Defaults.Threshold;
        foreach (var alert in BudgetRules.CrossedAlerts(account.Limits, account.Live, threshold).ToList())
        {
            account.Live.AlertsFired.Add(alert.Key);
            LogSoftAlert(logger, who, alert.Window.Name, alert.Unit.ToString(), alert.Used, alert.Limit);
            if ((account.Webhook ?? Defaults.Webhook) is { } url)
            {
                // Off the settle path: an alert must never slow down or fail a call.
                var body = new SoftAlert(tenantId, alert.Window.Name, alert.Unit.ToString().ToLowerInvariant(), alert.Used, alert.Limit, threshold, clock())
                {
                    Level = account.Level,
                    LevelId = account.Id,
                };
                _ = Task.Run(() => PostAsync(url, body));
            }
        }
    }

    private async Task PostAsync(string url, SoftAlert alert)
    {
        try
        {
            using var client = http.CreateClient(ClientName);
            using var response = await client.PostAsJsonAsync(url, alert, AlertJson.Default.SoftAlert);
            if (!response.IsSuccessStatusCode)
            {
                LogWebhookFailed(logger, tenantId, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            LogWebhookFailed(logger, tenantId, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: the soft-alert webhook failed ({Reason})")]
    private static partial void LogWebhookFailed(ILogger logger, string tenant, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tenant} crossed its soft alert threshold: {Window} {Unit} usage {Used} of limit {Limit}")]
    private static partial void LogSoftAlert(ILogger logger, string tenant, string window, string unit, decimal used, decimal limit);
}

/// <summary>Reads the router's clock (the fake one in tests).</summary>
internal delegate DateTimeOffset RouterClockAccessor();
