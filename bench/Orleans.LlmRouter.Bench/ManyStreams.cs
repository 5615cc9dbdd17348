using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Bench;

/// <summary>
/// <c>bench/run.sh --streams N</c>: N concurrent slow streams (the mock writes one chunk every 100 ms, about 4 s each)
/// through one embedded gateway, and the same N directly to the mock in the same run. The mock stamps every content
/// chunk with the monotonic time it wrote it, so the client measures each chunk's delay (arrival minus written) on
/// both paths; the gateway's added delay is the difference. Also: every stream ends with its usage chunk, each is
/// exactly one ledger row, and the gateway's RSS before, during and after.
/// </summary>
internal static class ManyStreams
{
    /// <summary>The mock for this run: one chunk every 100 ms, each stamped with its write time.</summary>
    public static readonly string[] MockArgs = ["--chunk-ms", "100", "--stamp-chunks"];

    // 40 characters of reply per 8-character chunk → about 40 chunks, 4 s at 100 ms each.
    private static readonly string Prompt = string.Concat(Enumerable.Repeat("slow stream ", 26));

    public static string Tenant(string runId) => $"streams{runId}";

    public static string Key(string tenant) => "sk-" + tenant;

    public static string Yaml(string tenant)
    {
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key(tenant))));
        return $$"""
            tenants:
              - { id: {{tenant}}, key_hashes: ["{{hash}}"], budgets: { tokens: { daily: 100000000000 }, usd: { daily: 1000000 } }, limits: { rpm: 100000000, tpm: 100000000000 } }

            """;
    }

    public static async Task<int> RunAsync(Service mock, Service gateway, int count, string tenant, string machine, string outDir)
    {
        using var admin = new GatewayAdmin(gateway);
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = count + 16, UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            Timeout = TimeSpan.FromSeconds(120),
        };
        var body = $$"""{"model":"mock-small","max_tokens":256,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"{{Prompt}}"}]}""";

        // Warm-up on both paths (JIT, pools, activations); not measured, but its rows are the tenant's too.
        var warm = 16;
        await Task.WhenAll(Enumerable.Range(0, warm).Select(_ => StreamAsync(client, mock.Address, null, body)));
        var warmups = await Task.WhenAll(Enumerable.Range(0, warm).Select(_ => StreamAsync(client, gateway.Address, Key(tenant), body)));
        await admin.DrainAsync(TimeSpan.FromSeconds(30));
        var before = await admin.SampleAsync(fullGc: true);
        Console.WriteLine($"{count} streams: gateway RSS before {before.RssMb:0} MB, GC heap {before.GcHeapMb:0.0} MB");

        var mockCpu = mock.CpuTime();
        var direct = await RunOnceAsync(client, mock.Address, null, body, count, null);
        var mockDirectCpu = (mock.CpuTime() - mockCpu).TotalSeconds;
        Console.WriteLine($"  direct to the mock: {direct.Describe()}");
        var peak = new Peak();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var (rss, _) = gateway.Memory();
                var (threads, sockets) = gateway.Handles();
                peak.Add(rss, threads, sockets);
                try
                {
                    await Task.Delay(250, sampling.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
        var gatewayCpu = gateway.CpuTime();
        var gatewayWait = gateway.RunQueueWait();
        var clientWait = Service.RunQueueWait(Environment.ProcessId);
        mockCpu = mock.CpuTime();
        var routed = await RunOnceAsync(client, gateway.Address, Key(tenant), body, count, admin);
        var gatewayRoutedCpu = (gateway.CpuTime() - gatewayCpu).TotalSeconds;
        var gatewayWaited = (gateway.RunQueueWait() - gatewayWait).TotalSeconds;
        var clientWaited = (Service.RunQueueWait(Environment.ProcessId) - clientWait).TotalSeconds;
        var mockRoutedCpu = (mock.CpuTime() - mockCpu).TotalSeconds;
        await sampling.CancelAsync();
        await sampler;
        Console.WriteLine($"  through the gateway: {routed.Describe()}");

        // The client closes its connections (as 512 clients would); the gateway's pooled connections to the mock close
        // when idle for the pool's idle timeout. Sockets are polled until they are back near where they were (3 min at most).
        client.Dispose();
        var (drained, after, zero) = await admin.DrainAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(10));
        var after10 = await admin.SampleAsync();
        var socketsWatch = Stopwatch.StartNew();
        var afterSockets = after10;
        while (afterSockets.Sockets > before.Sockets + 8 && socketsWatch.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            afterSockets = await admin.SampleAsync();
        }

        var socketsBackAfter = socketsWatch.Elapsed.TotalSeconds + 10;
        var after30 = await admin.SampleAsync(fullGc: true);
        var rows = await admin.LedgerAsync(tenant);
        var calls = warmups.Concat(routed.Streams).Select(s => (s.RequestId, s.Status, true)).ToList();
        var check = LedgerCheck.Of(calls, rows);
        var allSucceeded = rows.All(r => r.Success);

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"{count} concurrent streams, one chunk every 100 ms ({routed.Chunks / Math.Max(1, routed.Completed)} content chunks each, about {routed.Chunks / Math.Max(1, routed.Completed) / 10.0:0.0} s), through one embedded gateway and directly to the mock in the same run ({machine}).");
        md.AppendLine();
        md.AppendLine("| path | streams complete with usage | content chunks | chunk delay p50 ms | p99 ms | p99.9 ms | max ms | worst gap between chunks ms | wall s |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, r) in new[] { ("direct to the mock", direct), ("through the gateway", routed) })
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {r.Completed} / {count} | {r.Chunks} | {r.P(50):0.00} | {r.P(99):0.00} | {r.P(99.9):0.00} | {r.Max:0.00} | {r.WorstGap:0.0} | {r.Wall:0.0} |");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Added by the gateway (through minus direct): p50 {routed.P(50) - direct.P(50):0.00} ms, p99 {routed.P(99) - direct.P(99):0.00} ms, worst chunk {routed.Max - direct.Max:0.00} ms (worst chunk through the gateway {routed.Max:0.00} ms after the mock wrote it).");
        md.AppendLine(CultureInfo.InvariantCulture, $"Gateway RSS: before {before.RssMb:0} MB, peak during {peak.Rss:0} MB, after {after10.RssMb:0} MB (+10 s) and {after30.RssMb:0} MB (+{socketsBackAfter:0} s, after full collections); live heap (after full collections) {before.LiveHeapMb:0.0} MB before, {after30.LiveHeapMb:0.0} MB after; threads {before.Threads} → peak {peak.Threads} → {after30.Threads}; sockets {before.Sockets} → peak {peak.Sockets} → {after10.Sockets} at +10 s → {afterSockets.Sockets} at +{socketsBackAfter:0} s (the client closed its connections at the end; the gateway's idle pooled connections to the mock close after the pool's idle timeout).");
        md.AppendLine(CultureInfo.InvariantCulture, $"CPU: the gateway {gatewayRoutedCpu:0.0} s over the {routed.Wall:0.0} s of its run ({gatewayRoutedCpu / routed.Wall:0.00} cores, {gatewayRoutedCpu * 1e6 / Math.Max(1, routed.Chunks):0} µs per content chunk); the mock {mockDirectCpu:0.0} s direct, {mockRoutedCpu:0.0} s through the gateway. Time the gateway's threads waited runnable for a CPU during its run: {gatewayWaited:0.0} s (the client's: {clientWaited:0.0} s; `/proc/PID/task/*/schedstat`). Load average at the end: {GatewayAdmin.LoadAverage()}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"In flight during the run (sampled when all streams were open): {routed.Mid?.CallsRunning} calls running, {routed.Mid?.ReservationsHeld} reservations; after: {(zero ? "all zero" : "NOT zero")} {after.TotalSeconds:0.0} s after the last stream ended.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Ledger ({warm} warm-up streams included): {check.Describe()} Every row a success: {(allSucceeded ? "yes" : "NO")}.");
        var ok = routed.Completed == count && direct.Completed == count && check.Exact && zero && allSucceeded && rows.Count == count + warm;
        md.AppendLine(CultureInfo.InvariantCulture, $"Verdict: {(ok ? "every stream complete with its usage chunk, one ledger row each" : "FAILED (see above)")}.");
        Console.WriteLine();
        Console.WriteLine(md);
        await File.WriteAllTextAsync(Path.Combine(outDir, "streams.md"), md.ToString());
        await File.WriteAllTextAsync(Path.Combine(outDir, "streams.json"), JsonSerializer.Serialize(new
        {
            machine,
            count,
            direct = direct.Summary(),
            gateway = routed.Summary(),
            runQueueWaitSeconds = new { gateway = gatewayWaited, client = clientWaited },
            cpuSeconds = new { gateway = gatewayRoutedCpu, mockDirect = mockDirectCpu, mockRouted = mockRoutedCpu },
            rssMb = new { before = before.RssMb, peak = peak.Rss, after10 = after10.RssMb, afterEnd = after30.RssMb },
            liveHeapMb = new { before = before.LiveHeapMb, after = after30.LiveHeapMb },
            sockets = new { before = before.Sockets, peak = peak.Sockets, after10 = after10.Sockets, afterEnd = afterSockets.Sockets, backAfterSeconds = socketsBackAfter },
            ledger = check,
            ok,
        }, GatewayAdmin.Indented));
        _ = drained;
        return ok ? 0 : 1;
    }

    private static async Task<Run> RunOnceAsync(HttpClient client, Uri target, string? key, string body, int count, GatewayAdmin? admin)
    {
        var watch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, count).Select(_ => StreamAsync(client, target, key, body)).ToArray();
        RuntimeSample? mid = null;
        if (admin is not null)
        {
            // Read the gateway's in-flight figures while the streams are open (about halfway).
            await Task.Delay(TimeSpan.FromSeconds(2));
            mid = await admin.SampleAsync();
        }

        var streams = await Task.WhenAll(tasks);
        return new Run(streams, watch.Elapsed.TotalSeconds, mid);
    }

    private static async Task<Stream1> StreamAsync(HttpClient client, Uri target, string? key, string body)
    {
        var delays = new List<double>(48);
        double worstGap = 0;
        long last = 0;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target, "/v1/chat/completions")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var id = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.FirstOrDefault() : null;
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var usage = false;
            var done = false;
            while (await reader.ReadLineAsync() is { } line)
            {
                var now = Stopwatch.GetTimestamp();
                var at = line.IndexOf("@t", StringComparison.Ordinal);
                if (at >= 0)
                {
                    var end = line.IndexOf(';', at);
                    var written = long.Parse(line.AsSpan(at + 2, end - at - 2), CultureInfo.InvariantCulture);
                    delays.Add((now - written) * 1000.0 / Stopwatch.Frequency);
                    if (last != 0)
                    {
                        worstGap = Math.Max(worstGap, (now - last) * 1000.0 / Stopwatch.Frequency);
                    }

                    last = now;
                }

                usage |= line.Contains("\"usage\":{", StringComparison.Ordinal);
                done |= line == "data: [DONE]";
            }

            return new Stream1(id, (int)response.StatusCode, usage && done, delays, worstGap);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Stream1(null, 0, false, delays, worstGap);
        }
    }

    private sealed record Stream1(string? RequestId, int Status, bool Complete, List<double> Delays, double WorstGap);

    private sealed class Run(Stream1[] streams, double wall, RuntimeSample? mid)
    {
        private readonly double[] _sorted = streams.SelectMany(s => s.Delays).Order().ToArray();

        public Stream1[] Streams => streams;

        public double Wall => wall;

        public RuntimeSample? Mid => mid;

        public int Completed => streams.Count(s => s.Complete);

        public int Chunks => _sorted.Length;

        public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

        public double WorstGap => streams.Max(s => s.WorstGap);

        public double P(double p) => OpenLoop.Percentile(_sorted, p);

        public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Completed} complete, {Chunks} chunks, delay p50 {P(50):0.00} ms, p99 {P(99):0.00} ms, max {Max:0.00} ms, worst gap {WorstGap:0.0} ms, {Wall:0.0} s");

        public object Summary() => new { completed = Completed, chunks = Chunks, p50 = Finite(P(50)), p99 = Finite(P(99)), p999 = Finite(P(99.9)), max = Finite(Max), worstGap = WorstGap, wall = Wall };

        private static double? Finite(double v) => double.IsFinite(v) ? v : null;
    }

    private sealed class Peak
    {
        public double Rss { get; private set; }

        public int Threads { get; private set; }

        public int Sockets { get; private set; }

        public void Add(double rss, int threads, int sockets)
        {
            Rss = Math.Max(Rss, rss);
            Threads = Math.Max(Threads, threads);
            Sockets = Math.Max(Sockets, sockets);
        }
    }
}
