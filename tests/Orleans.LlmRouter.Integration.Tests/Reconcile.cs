using System.Net.Http.Json;
using Orleans.LlmRouter.Host.Admin;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// The audit every test that runs calls should end with: <c>GET /api/v1/tenants/{id}/reconcile</c> must report the
/// counters equal to the ledger in every window and (unless told otherwise) no reservation left in flight.
/// </summary>
internal static class Reconcile
{
    /// <summary>Reads a tenant's reconcile report (the client must hold the admin key or the tenant's key).</summary>
    public static async Task<ReconcileReport> ReportAsync(HttpClient client, string tenant)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var response = await client.GetAsync($"/api/v1/tenants/{Uri.EscapeDataString(tenant)}/reconcile", TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Xunit.Assert.True(response.IsSuccessStatusCode, $"reconcile of '{tenant}' answered {(int)response.StatusCode}: {body}");
        return (await response.Content.ReadFromJsonAsync<ReconcileReport>(TestContext.Current.CancellationToken))!;
    }

    /// <summary>
    /// The same audit without an HTTP front end: the ledger in PostgreSQL against the counters of the tenant's budget
    /// grain in <paramref name="grains"/>' cluster.
    /// </summary>
    public static async Task<ReconcileReport> AssertReconciledAsync(string connectionString, IGrainFactory grains, string tenant, bool requireIdle = true)
    {
        await using var ledger = new Ledger.PostgresLedger(new Ledger.PostgresLedgerOptions(connectionString)
        {
            SpoolDirectory = Directory.CreateTempSubdirectory("llmrouter-audit-spool-").FullName,
            ReplayInterval = TimeSpan.FromHours(1),
        }, Microsoft.Extensions.Logging.Abstractions.NullLogger<Ledger.PostgresLedger>.Instance);
        return Assert(await Reconciliation.ReconcileAsync(tenant, null, ledger, grains, TimeProvider.System, TestContext.Current.CancellationToken), tenant, requireIdle);
    }

    /// <summary>
    /// Asserts zero difference in every window (and, with <paramref name="requireIdle"/>, no reservation in flight);
    /// <paramref name="context"/> (e.g. where the processes' logs are) is added to a failure's message.
    /// </summary>
    public static async Task<ReconcileReport> AssertReconciledAsync(HttpClient client, string tenant, bool requireIdle = true, string? context = null) =>
        Assert(await ReportAsync(client, tenant), tenant, requireIdle, context);

    private static ReconcileReport Assert(ReconcileReport report, string tenant, bool requireIdle, string? context = null)
    {
        var differing = report.Windows.Where(w => !w.Consistent).Select(w => $"{w.Window} {w.Key}: ledger {w.LedgerTokens} tokens / {w.LedgerUsd} USD, counters {w.CounterTokens} / {w.CounterUsd}")
            .Concat(report.Levels.SelectMany(l => l.Windows.Where(w => !w.Consistent).Select(w => $"{l.Level} '{l.Id}' {w.Window} {w.Key}: ledger {w.LedgerTokens} tokens / {w.LedgerUsd} USD, counters {w.CounterTokens} / {w.CounterUsd}")))
            .ToList();
        Xunit.Assert.True(report.Consistent && differing.Count == 0, $"tenant '{tenant}' counters differ from the ledger: {string.Join("; ", differing)} {context}");
        if (requireIdle)
        {
            Xunit.Assert.True(report.InFlight.Reservations == 0, $"tenant '{tenant}' still has {report.InFlight.Reservations} reservations in flight ({report.InFlight.Tokens} tokens, {report.InFlight.Usd} USD)");
            Xunit.Assert.All(report.Levels, l => Xunit.Assert.True(l.InFlight.Reservations == 0, $"{l.Level} '{l.Id}' of tenant '{tenant}' still has {l.InFlight.Reservations} reservations in flight"));
        }

        return report;
    }
}
