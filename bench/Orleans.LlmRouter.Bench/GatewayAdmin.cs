using System.Globalization;
using System.Text.Json;

namespace Orleans.LlmRouter.Bench;

/// <summary>One reading of a gateway process: /proc figures and the admin API's runtime view.</summary>
internal sealed record RuntimeSample(
    double RssMb, double GcHeapMb, double? LiveHeapMb, int Threads, int Sockets, int Activations, int CallsRunning, int ReservationsHeld, int ProviderCallsActive, int SlotsHeld,
    IReadOnlyDictionary<string, int> ActivationsByType)
{
    public bool InFlightIsZero => CallsRunning == 0 && ReservationsHeld == 0 && ProviderCallsActive == 0 && SlotsHeld == 0;
}

/// <summary>A ledger row as the usage CSV export gives it.</summary>
internal sealed record LedgerRow(string RequestId, bool Success, string? ErrorClass)
{
    /// <summary>The request's own id (a billed failed attempt's row is <c>REQUEST/N</c>).</summary>
    public string BaseId => RequestId.Split('/')[0];

    public bool IsAttemptRow => RequestId.Contains('/', StringComparison.Ordinal);
}

/// <summary>The gateway's admin API as the soak and stream runs read it (dev admin key, loopback).</summary>
internal sealed class GatewayAdmin : IDisposable
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly HttpClient _http;
    private readonly Service _gateway;

    public GatewayAdmin(Service gateway)
    {
        _gateway = gateway;
        _http = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new("Bearer", "sk-llmrouter-admin-dev");
    }

    /// <param name="fullGc">Also the live heap after full blocking collections in the gateway (a pause: once a minute at most).</param>
    public async Task<RuntimeSample> SampleAsync(bool fullGc = false)
    {
        var (rss, _) = _gateway.Memory();
        var (threads, sockets) = _gateway.Handles();
        using var doc = JsonDocument.Parse(await _http.GetStringAsync(new Uri(fullGc ? "/api/v1/runtime?gc=full" : "/api/v1/runtime", UriKind.Relative)));
        var r = doc.RootElement;
        static int Int(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : -1;
        var byType = r.GetProperty("activationsByType").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        double? live = r.TryGetProperty("liveHeapBytes", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt64() / 1048576.0 : null;
        return new RuntimeSample(rss, r.GetProperty("gcHeapBytes").GetInt64() / 1048576.0, live, threads, sockets, Int(r, "activations"), Int(r, "callsRunning"),
            Int(r, "reservationsHeld"), Int(r, "providerCallsActive"), Int(r, "providerSlotsHeld"), byType);
    }

    /// <summary>Polls until every in-flight figure is zero or <paramref name="limit"/> passes; returns the last reading and the time it took.</summary>
    public async Task<(RuntimeSample Sample, TimeSpan After, bool Drained)> DrainAsync(TimeSpan limit)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var s = await SampleAsync();
            if (s.InFlightIsZero || watch.Elapsed > limit)
            {
                return (s, watch.Elapsed, s.InFlightIsZero);
            }

            await Task.Delay(500);
        }
    }

    /// <summary>The tenant's reconcile audit: consistent (counters equal the ledger) and the reservations its budget grain holds.</summary>
    public async Task<(bool Consistent, int Reservations)> ReconcileAsync(string tenant)
    {
        using var doc = JsonDocument.Parse(await _http.GetStringAsync(new Uri($"/api/v1/tenants/{tenant}/reconcile", UriKind.Relative)));
        return (doc.RootElement.GetProperty("consistent").GetBoolean(), doc.RootElement.GetProperty("inFlight").GetProperty("reservations").GetInt32());
    }

    /// <summary>Every ledger row of the tenant, from the usage CSV export.</summary>
    public async Task<List<LedgerRow>> LedgerAsync(string tenant)
    {
        using var response = await _http.GetAsync(new Uri($"/api/v1/tenants/{tenant}/usage?format=csv", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var rows = new List<LedgerRow>();
        _ = await reader.ReadLineAsync(); // header
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            // request_id, …, success (16th), error_class (17th); none of the bench's values is quoted.
            var f = line.Split(',');
            rows.Add(new LedgerRow(f[0], f[15] == "true", f[16].Length == 0 ? null : f[16]));
        }

        return rows;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The machine's 1, 5 and 15 minute load averages (the machine is shared: context for every figure).</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static string Mb(double v) => v.ToString("0", CultureInfo.InvariantCulture);
}
