using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Orleans.LlmRouter.Host.Admin;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// The host's <c>--audit</c> mode: reconciles every tenant of a running gateway (or front end) through its admin API —
/// <c>GET /api/v1/tenants</c>, then <c>GET /api/v1/tenants/{id}/reconcile</c> for each — prints every window with a
/// difference and exits non-zero when there is one. Over HTTP, so it works for every deployment (embedded, in-memory
/// ledger included) and needs no cluster credentials, only the admin key (environment <c>LLMROUTER_ADMIN_KEY</c>, or
/// <c>--admin-key-file</c>; never on the command line, where other users could read it).
/// </summary>
internal static class LedgerAudit
{
    /// <summary>Exit code when every tenant is consistent.</summary>
    public const int Consistent = 0;

    /// <summary>Exit code when a tenant's counters differ from its ledger.</summary>
    public const int Differences = 1;

    /// <summary>Exit code when the audit could not run (bad arguments, no key, gateway unreachable or refusing).</summary>
    public const int Failed = 2;

    /// <summary>Usage of the mode.</summary>
    public const string Usage = "usage: --audit [--url http://127.0.0.1:5080] [--tenant <id>]... [--admin-key-file <path>] (admin key from LLMROUTER_ADMIN_KEY otherwise) [--require-idle]";

    /// <summary>True when the command line asks for the audit mode.</summary>
    public static bool Requested(string[] args) => args is not null && args.Contains("--audit", StringComparer.Ordinal);

    /// <summary>Runs the audit; <paramref name="adminKey"/> is used when no <c>--admin-key-file</c> is given.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, string? adminKey, HttpMessageHandler? handler = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var url = GatewayHost.DefaultUrl;
        var tenants = new List<string>();
        var requireIdle = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--audit":
                    break;
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--tenant" when i + 1 < args.Length:
                    tenants.Add(args[++i]);
                    break;
                case "--admin-key-file" when i + 1 < args.Length:
                    adminKey = (await File.ReadAllTextAsync(args[++i], cancellationToken)).Trim();
                    break;
                case "--require-idle":
                    requireIdle = true;
                    break;
                default:
                    await error.WriteLineAsync($"unknown argument '{args[i]}'. {Usage}");
                    return Failed;
            }
        }

        if (string.IsNullOrEmpty(adminKey))
        {
            await error.WriteLineAsync("No admin key: set LLMROUTER_ADMIN_KEY or pass --admin-key-file. " + Usage);
            return Failed;
        }

        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = new Uri(url.TrimEnd('/') + "/");
        http.Timeout = TimeSpan.FromSeconds(30);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        try
        {
            if (tenants.Count == 0)
            {
                var list = await http.GetFromJsonAsync<TenantName[]>("api/v1/tenants", json, cancellationToken) ?? [];
                tenants.AddRange(list.Select(t => t.Id));
            }

            var differing = 0;
            foreach (var tenant in tenants)
            {
                using var response = await http.GetAsync($"api/v1/tenants/{Uri.EscapeDataString(tenant)}/reconcile", cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    await error.WriteLineAsync($"{tenant}: the gateway answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
                    return Failed;
                }

                var report = (await response.Content.ReadFromJsonAsync<ReconcileReport>(json, cancellationToken))!;
                var idle = report.InFlight.Reservations == 0;
                if (report.Consistent && (idle || !requireIdle))
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{tenant}: consistent ({report.Windows.Count} windows, {report.InFlight.Reservations} reservations in flight, {report.QuarantinedRows} quarantined, {report.SpooledRows} spooled)"));
                    continue;
                }

                differing++;
                foreach (var w in report.Windows.Where(w => !w.Consistent))
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{tenant}: DIFFERENCE {w.Window}{(w.Key is null ? string.Empty : " " + w.Key)}: ledger {w.LedgerTokens} tokens / {w.LedgerUsd} USD ({w.LedgerRows} rows), counters {w.CounterTokens} tokens / {w.CounterUsd} USD, difference {w.TokenDifference} tokens / {w.UsdDifference} USD"));
                }

                if (!idle && requireIdle)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{tenant}: {report.InFlight.Reservations} reservations still in flight ({report.InFlight.Tokens} tokens, {report.InFlight.Usd} USD)"));
                }
            }

            await output.WriteLineAsync(differing == 0 ? $"audit: {tenants.Count} tenants, no difference" : $"audit: {differing} of {tenants.Count} tenants differ");
            return differing == 0 ? Consistent : Differences;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            await error.WriteLineAsync($"The audit could not reach {http.BaseAddress}: {ex.Message}");
            return Failed;
        }
    }

    private sealed record TenantName(string Id);
}
