using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Bench;

/// <summary>The soak run's two tenants: one with room for everything, one whose small budget refuses most calls (402).</summary>
internal sealed record SoakTenants(string Main, string MainKey, string Poor, string PoorKey);

/// <summary>
/// <c>bench/run.sh --soak MINUTES</c>: mixed traffic at a fixed rate through one gateway — chat, complete streams,
/// embeddings, calls refused by a small budget (402), upstream errors with no fallback, fallbacks from a broken
/// deployment, streams that fail mid-way, and streams the client abandons after two chunks — with the gateway's RSS, GC
/// heap, threads, sockets, grain activations and in-flight figures every minute. After the load: the in-flight figures
/// must come back to zero, the budget grains hold no reservation and agree with the ledger, and the ledger has exactly
/// one row per call the gateway routed (none for a 402).
/// </summary>
internal static class Soak
{
    /// <summary>The mock for a soak: some latency so calls overlap, and one model id that always answers 500.</summary>
    public static readonly string[] MockArgs = ["--latency-ms", "20", "--ttft-ms", "10", "--chunk-ms", "5", "--model-scenario", "mock-broken=server"];

    // The mix, one slot per twentieth of the rate.
    private static readonly Kind[] Mix =
    [
        Kind.Chat, Kind.Stream, Kind.Chat, Kind.Embed, Kind.Refused, Kind.Chat, Kind.Fallback, Kind.Stream, Kind.Chat, Kind.Error,
        Kind.Chat, Kind.Stream, Kind.Embed, Kind.Midstream, Kind.Chat, Kind.Fallback, Kind.Stream, Kind.Refused, Kind.Embed, Kind.Abandoned,
    ];

    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 1024,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        UseProxy = false,
    })
    { Timeout = TimeSpan.FromSeconds(60) };

    private enum Kind
    {
        Chat,
        Stream,
        Embed,
        Refused,
        Error,
        Fallback,
        Midstream,
        Abandoned,
    }

    public static SoakTenants Tenants(string runId) => new($"soak{runId}", $"sk-soak-{runId}", $"soakpoor{runId}", $"sk-soakpoor-{runId}");

    /// <summary>The soak's catalog file: its providers on the mock (one always broken), models, the fallback action and the two tenants.</summary>
    public static string Yaml(Uri mock, SoakTenants t)
    {
        var url = mock.ToString().TrimEnd('/');
        static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        return $$"""
            providers:
              - { id: soak-main, type: openai, base_url: "{{url}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, limits: { max_concurrency: 256 } }
              - { id: soak-faults, type: openai, base_url: "{{url}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, limits: { max_concurrency: 64 },
                  circuit_breaker: { failure_ratio: 1.0, minimum_calls: 1000000, window_seconds: 30, break_seconds: 30 } }
              - { id: soak-stall, type: openai, base_url: "{{url}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, limits: { max_concurrency: 64 } }
              - { id: soak-err, type: openai, base_url: "{{url}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30 }
              - { id: soak-flaky, type: openai, base_url: "{{url}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30 }
            models:
              - { name: soak-chat, provider: soak-main, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming, tools, structured_output], pricing: { input: 0.15, output: 0.60 } }
              - { name: soak-embed, provider: soak-main, provider_model: mock-embed, context_window: 8192, max_output_tokens: 1,
                  capabilities: [embedding], pricing: { input: 0.02, output: 0 } }
              - { name: soak-faults, provider: soak-faults, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: soak-stall, provider: soak-stall, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: soak-err, provider: soak-err, provider_model: mock-broken, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
              - { name: soak-flaky, provider: soak-flaky, provider_model: mock-broken, context_window: 128000, max_output_tokens: 4096,
                  capabilities: [chat, streaming], pricing: { input: 0.15, output: 0.60 } }
            actions:
              - name: soak_fallback
                requires: [chat]
                strategies:
                  default: [soak-flaky, soak-chat]
            tenants:
              - { id: {{t.Main}}, key_hashes: ["{{Hash(t.MainKey)}}"], budgets: { tokens: { daily: 100000000000 }, usd: { daily: 1000000 } }, limits: { rpm: 100000000, tpm: 100000000000 } }
              - { id: {{t.Poor}}, key_hashes: ["{{Hash(t.PoorKey)}}"], budgets: { tokens: { daily: 2000 } }, limits: { rpm: 100000000, tpm: 100000000000 } }

            """;
    }

    public static async Task<int> RunAsync(Service gateway, SoakTenants tenants, TimeSpan length, int rate, string machine, string outDir)
    {
        using var admin = new GatewayAdmin(gateway);
        var outcomes = new ConcurrentQueue<Outcome>();

        // Warm-up: a few of each kind, not counted (their rows are, below: every row of the tenants is checked).
        for (var i = 0; i < Mix.Length * 2; i++)
        {
            outcomes.Enqueue(await SendAsync(gateway, tenants, Mix[i % Mix.Length], minute: -1));
        }

        var samples = new List<(string Label, RuntimeSample S, Dictionary<string, int> Counts)>();
        samples.Add(("start", await admin.SampleAsync(fullGc: true), []));
        Console.WriteLine($"soak {gateway.Name}: {length.TotalMinutes:0} min at {rate}/s, tenants {tenants.Main} and {tenants.Poor}");

        const int MaxOpen = 2000; // bounded: past this many open client calls, a scheduled call is skipped and counted
        var open = 0;
        long skipped = 0;
        var tasks = new ConcurrentDictionary<int, Task>();
        var started = Stopwatch.GetTimestamp();
        var total = (long)(rate * length.TotalSeconds);
        var nextSample = TimeSpan.FromMinutes(1);
        for (long i = 0; i < total; i++)
        {
            var due = started + (long)(i * (double)Stopwatch.Frequency / rate);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= nextSample)
            {
                var minute = (int)Math.Round(nextSample.TotalMinutes);
                samples.Add(($"{minute}", await admin.SampleAsync(fullGc: true), Counts(outcomes, minute - 1)));
                Print(gateway.Name, samples[^1]);
                Console.WriteLine($"    load average {GatewayAdmin.LoadAverage()}");
                nextSample += TimeSpan.FromMinutes(1);
            }

            if (Volatile.Read(ref open) >= MaxOpen)
            {
                skipped++;
                continue;
            }

            var kind = Mix[i % Mix.Length];
            var inMinute = (int)elapsed.TotalMinutes;
            var id = (int)(i % int.MaxValue);
            Interlocked.Increment(ref open);
            tasks[id] = Task.Run(async () =>
            {
                try
                {
                    outcomes.Enqueue(await SendAsync(gateway, tenants, kind, inMinute));
                }
                finally
                {
                    Interlocked.Decrement(ref open);
                    tasks.TryRemove(id, out _);
                }
            });
        }

        await Task.WhenAll(tasks.Values.ToArray()).WaitAsync(TimeSpan.FromSeconds(90));
        var lastMinute = (int)Math.Ceiling(length.TotalMinutes);
        if (samples[^1].Label != lastMinute.ToString(CultureInfo.InvariantCulture))
        {
            samples.Add(($"{lastMinute}", await admin.SampleAsync(fullGc: true), Counts(outcomes, lastMinute - 1)));
            Print(gateway.Name, samples[^1]);
        }

        // After the load: every in-flight figure back to zero, then the budget grains and the ledger.
        var (drained, after, zero) = await admin.DrainAsync(TimeSpan.FromSeconds(60));
        samples.Add(($"after (+{after.TotalSeconds:0} s)", await admin.SampleAsync(fullGc: true), []));
        Print(gateway.Name, samples[^1]);
        var main = await admin.ReconcileAsync(tenants.Main);
        var poor = await admin.ReconcileAsync(tenants.Poor);
        var rows = (await admin.LedgerAsync(tenants.Main)).Concat(await admin.LedgerAsync(tenants.Poor)).ToList();
        var all = outcomes.ToList();
        var check = LedgerCheck.Of(all.Select(o => (o.RequestId, o.Status, o.Tried)).ToList(), rows);

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Soak of `{gateway.Name}`: {length.TotalMinutes:0} min at {rate}/s ({machine}); mock latency 20 ms, first chunk 10 ms, 5 ms per chunk.");
        md.AppendLine();
        md.AppendLine("| minute | calls | 2xx | 402 | 5xx | abandoned | RSS MB | GC heap MB | live heap MB | threads | sockets | activations | calls running | reservations | provider calls | slots |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (label, s, c) in samples)
        {
            string C(string k) => c.Count == 0 ? "" : c.GetValueOrDefault(k).ToString(CultureInfo.InvariantCulture);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {C("calls")} | {C("2xx")} | {C("402")} | {C("5xx")} | {C("abandoned")} | {s.RssMb:0} | {s.GcHeapMb:0.0} | {s.LiveHeapMb:0.0} | {s.Threads} | {s.Sockets} | {s.Activations} | {s.CallsRunning} | {s.ReservationsHeld} | {s.ProviderCallsActive} | {s.SlotsHeld} |");
        }

        var byKind = all.Where(o => o.Minute >= 0).GroupBy(o => o.Kind).OrderBy(g => g.Key)
            .Select(g => $"{g.Key.ToString().ToLowerInvariant()} {g.Count()} ({string.Join(", ", g.GroupBy(o => o.Status).OrderBy(x => x.Key).Select(x => $"{(x.Key == 0 ? "no response" : x.Key.ToString(CultureInfo.InvariantCulture))}: {x.Count()}"))})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Load average of the machine (2 cores, shared) at the end: {GatewayAdmin.LoadAverage()}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Calls by kind and status: {string.Join("; ", byKind)}. Skipped at the client's cap of {MaxOpen} open calls: {skipped}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Streams: {all.Count(o => o.Kind == Kind.Stream && o.UsageChunk)} of {all.Count(o => o.Kind == Kind.Stream)} complete streams ended with their usage chunk.");
        md.AppendLine(CultureInfo.InvariantCulture, $"After the load: in-flight figures {(zero ? "all zero" : "NOT zero")} {after.TotalSeconds:0.0} s after the last call ended; budget grains' reservations {main.Reservations} and {poor.Reservations}; reconcile (counters == ledger) {(main.Consistent && poor.Consistent ? "consistent" : "NOT consistent")} for both tenants.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Ledger: {check.Describe()}");
        var growth = samples.Where(x => int.TryParse(x.Label, out _)).Select(x => x.S).ToList();
        if (growth.Count >= 2)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Top activations at the end: {string.Join(", ", drained.ActivationsByType.OrderByDescending(kv => kv.Value).Take(6).Select(kv => $"{kv.Key} {kv.Value}"))}.");
        }

        var ok = zero && main.Reservations == 0 && poor.Reservations == 0 && main.Consistent && poor.Consistent && check.Exact;
        md.AppendLine(CultureInfo.InvariantCulture, $"Verdict: {(ok ? "everything came back, the ledger is exact" : "FAILED (see above)")}.");
        Console.WriteLine();
        Console.WriteLine(md);
        await File.WriteAllTextAsync(Path.Combine(outDir, $"soak-{gateway.Name}.md"), md.ToString());
        await File.WriteAllTextAsync(Path.Combine(outDir, $"soak-{gateway.Name}.json"), JsonSerializer.Serialize(new
        {
            machine,
            minutes = length.TotalMinutes,
            rate,
            samples = samples.Select(x => new { label = x.Label, sample = x.S, counts = x.Counts }),
            ledger = check,
            drainedAfterSeconds = after.TotalSeconds,
            ok,
        }, GatewayAdmin.Indented));
        return ok ? 0 : 1;
    }

    private static void Print(string name, (string Label, RuntimeSample S, Dictionary<string, int> Counts) x) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} {x.Label}: calls {x.Counts.GetValueOrDefault("calls")}, RSS {x.S.RssMb:0} MB, GC heap {x.S.GcHeapMb:0.0} MB, live {x.S.LiveHeapMb:0.0} MB, threads {x.S.Threads}, sockets {x.S.Sockets}, activations {x.S.Activations}, running {x.S.CallsRunning}, reservations {x.S.ReservationsHeld}, provider calls {x.S.ProviderCallsActive}, slots {x.S.SlotsHeld}"));

    private static Dictionary<string, int> Counts(IEnumerable<Outcome> outcomes, int minute)
    {
        var m = outcomes.Where(o => o.Minute == minute).ToList();
        return new Dictionary<string, int>
        {
            ["calls"] = m.Count,
            ["2xx"] = m.Count(o => o.Status is >= 200 and < 300 && o.Kind != Kind.Abandoned),
            ["402"] = m.Count(o => o.Status == 402),
            ["5xx"] = m.Count(o => o.Status >= 500 || o.Status == 0),
            ["abandoned"] = m.Count(o => o.Kind == Kind.Abandoned),
        };
    }

    private static async Task<Outcome> SendAsync(Service gateway, SoakTenants t, Kind kind, int minute)
    {
        var (path, key, body, stream) = kind switch
        {
            Kind.Chat => ("/v1/chat/completions", t.MainKey, Chat("soak-chat", "Say hello to the soak.", false), false),
            Kind.Stream => ("/v1/chat/completions", t.MainKey, Chat("soak-chat", "Stream a short greeting to the soak please.", true), true),
            Kind.Embed => ("/v1/embeddings", t.MainKey, """{"model":"soak-embed","input":["soak one","soak two"]}""", false),
            Kind.Refused => ("/v1/chat/completions", t.PoorKey, Chat("soak-chat", "A call over a small budget.", false), false),
            Kind.Error => ("/v1/chat/completions", t.MainKey, Chat("soak-err", "A call to a broken deployment.", false), false),
            Kind.Fallback => ("/v1/chat/completions", t.MainKey, Chat("action:soak_fallback", "A call that falls back.", false), false),
            Kind.Midstream => ("/v1/chat/completions", t.MainKey, Chat("soak-faults", "A stream that fails mid-way [mock:midstream] after a few chunks.", true), true),
            _ => ("/v1/chat/completions", t.MainKey, Chat("soak-stall", "A stream the client abandons [mock:stall] after two chunks.", true), true),
        };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Address, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var id = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.FirstOrDefault() : null;
            var status = (int)response.StatusCode;
            if (!stream || !response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync();
                return new Outcome(kind, minute, status, id, false, response.IsSuccessStatusCode || Tried(text));
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var content = 0;
            var usage = false;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal) && ++content == 2 && kind == Kind.Abandoned)
                {
                    break; // the client goes away mid-stream: disposing the response closes the connection
                }

                usage |= line.Contains("\"usage\":{", StringComparison.Ordinal);
            }

            return new Outcome(kind, minute, status, id, usage, true);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Outcome(kind, minute, 0, null, false, true);
        }
    }

    /// <summary>
    /// Whether a failed call reached a provider (and so is a ledger row): an <c>all_models_failed</c> error lists every
    /// candidate as tried (<c>model@provider: class (message)</c>) or skipped (<c>model@provider: skipped (reason)</c>,
    /// e.g. its breaker open); a call whose every candidate was skipped, or that was refused by its budget, was not tried.
    /// </summary>
    private static bool Tried(string errorBody)
    {
        if (!errorBody.Contains("all_models_failed", StringComparison.Ordinal))
        {
            return false;
        }

        using var doc = JsonDocument.Parse(errorBody);
        var message = doc.RootElement.GetProperty("error").GetProperty("message").GetString() ?? string.Empty;
        const string Prefix = "All models failed: ";
        return message.StartsWith(Prefix, StringComparison.Ordinal)
            && message[Prefix.Length..].Split("; ").Any(part => !part.Contains(": skipped (", StringComparison.Ordinal));
    }

    private static string Chat(string model, string text, bool stream) =>
        $$"""{"model":"{{model}}","max_tokens":64,{{(stream ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}," : "")}}"messages":[{"role":"user","content":"{{text}}"}]}""";

    // Tried: the call reached a provider (a 2xx, or a failure that lists a tried candidate), so it is a ledger row.
    private sealed record Outcome(Kind Kind, int Minute, int Status, string? RequestId, bool UsageChunk, bool Tried);
}

/// <summary>
/// The ledger against what the client saw: every call that reached a provider (a 2xx, or a failure listing a tried
/// candidate) is exactly one row under its request id; a call refused before any attempt (402 by its budget, or every
/// candidate skipped, e.g. its breaker open) has none; no row belongs to a call the client did not make. Billed failed
/// attempts (<c>REQUEST/N</c>) are counted on their own.
/// </summary>
internal sealed record LedgerCheck(int Rows, int Successful, int BilledFailed, int AttemptRows, int Refused, int NotTried, int TriedWithoutRow, int Duplicates, int NotTriedWithRow, int UnknownRows, int NoRequestId)
{
    public bool Exact => TriedWithoutRow == 0 && Duplicates == 0 && NotTriedWithRow == 0 && UnknownRows == 0 && NoRequestId == 0 && Rows == Successful + BilledFailed + AttemptRows;

    public static LedgerCheck Of(IReadOnlyList<(string? RequestId, int Status, bool Tried)> calls, IReadOnlyList<LedgerRow> rows)
    {
        var own = rows.Where(r => !r.IsAttemptRow).GroupBy(r => r.RequestId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var seen = calls.Where(c => c.RequestId is not null).Select(c => c.RequestId!).ToHashSet(StringComparer.Ordinal);
        var tried = calls.Where(c => c.RequestId is not null && c.Tried).ToList();
        var notTried = calls.Where(c => c.RequestId is not null && !c.Tried).ToList();
        return new LedgerCheck(
            rows.Count,
            tried.Count(c => c.Status is >= 200 and < 300 && own.ContainsKey(c.RequestId!)),
            tried.Count(c => c.Status is not (>= 200 and < 300) && own.ContainsKey(c.RequestId!)),
            rows.Count(r => r.IsAttemptRow),
            calls.Count(c => c.Status == 402),
            notTried.Count,
            tried.Count(c => !own.ContainsKey(c.RequestId!)),
            own.Values.Count(n => n > 1),
            notTried.Count(c => own.ContainsKey(c.RequestId!)),
            rows.Count(r => !seen.Contains(r.BaseId)),
            calls.Count(c => c.RequestId is null));
    }

    public string Describe() =>
        $"{Rows} rows = {Successful} successful + {BilledFailed} billed failed calls + {AttemptRows} billed failed attempts: {(Exact ? "exact" : "NOT exact")}; "
        + $"{NotTried} calls refused before any attempt ({Refused} of them 402) with {NotTriedWithRow} rows; calls that reached a provider without a row {TriedWithoutRow}; "
        + $"ids with more than one row {Duplicates}; rows of unknown calls {UnknownRows}; calls without a response id {NoRequestId}.";
}
