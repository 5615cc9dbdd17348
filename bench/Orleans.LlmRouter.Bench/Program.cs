using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.Bench;

// One command (bench/run.sh) builds Release and runs this: the mock upstream directly (the floor), a bare YARP proxy to
// it, and the gateway with full governance (tenant auth, budget reserve/settle, provider permit, ledger), in memory and,
// with LLMROUTER_POSTGRES set, on PostgreSQL. Prints a table and writes bench/results/latest.json.
var quick = args.Contains("--quick");
var duration = TimeSpan.FromSeconds(Int("--duration", quick ? 3 : 10));
var connections = Int("--connections", 32);
var rate = Int("--rate", quick ? 300 : 500);
var streamRate = Int("--stream-rate", quick ? 100 : 200);
var tenantCount = Int("--tenants", 200);
// The durable hot-tenant figure at a higher concurrency: group commit batches more records per round-trip.
var hotConnections = Int("--hot-connections", 96);
var postgres = Environment.GetEnvironmentVariable("LLMROUTER_POSTGRES");
// --targets mock,yarp,portkey,gateway,gateway-otel-off,gateway-trace-off,gateway-scraped,gateway-baseline,gateway-pg measures only those (the mock always runs: it is the upstream).
// gateway-baseline: the gateway built from an earlier commit (bench/run.sh --baseline REF builds it and sets LLMROUTER_BENCH_BASELINE).
var only = args.SkipWhile(a => a != "--targets").Skip(1).FirstOrDefault()?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
bool Wanted(string target) => only is null || only.Contains(target);
var root = FindRoot();
var work = Directory.CreateTempSubdirectory("llmrouter-bench-").FullName;
var outDir = Path.Combine(root, "bench", "results");
Directory.CreateDirectory(outDir);

string Dll(string project, string dir = "src") => Path.Combine(root, dir, project, "bin", "Release", "net10.0", project + ".dll");

// Request bodies: identical for every target (the gateway's model is named like the mock's model).
var small = """{"model":"mock-small","max_tokens":64,"messages":[{"role":"user","content":"Say hello to the benchmark."}]}""";
var large = JsonSerializer.Serialize(new { model = "mock-small", max_tokens = 64, messages = new[] { new { role = "user", content = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 225)) } } });
var streaming = """{"model":"mock-small","max_tokens":64,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream a short greeting to the benchmark please."}]}""";
// The same call to a model served by five deployments (five providers on the mock, weighted): the routing cost of balancing.
var pooled = small.Replace("\"mock-small\"", "\"mock-pool\"", StringComparison.Ordinal);
// The same small request on a four-level path: a key of a project, for a budgeted end user (issue 25).
var leveled = small.Replace("{\"model\"", "{\"user\":\"bench-user\",\"model\"", StringComparison.Ordinal);
var levelKey = new[] { "sk-bench-levels" };
var hot = new[] { "sk-bench-hot" };
var many = Enumerable.Range(0, tenantCount).Select(i => $"sk-bench-t{i:000}").ToArray();

var results = new List<(string Target, string Scenario, Figures F)>();
var cpu = new Dictionary<(string Target, string Scenario), (double Cores, double MicrosPerCall)>();
var memory = new Dictionary<string, (double Rss, double Peak)>();
using var services = new DisposableList();
var mockPort = Service.FreePort();
// --soak MINUTES: mixed traffic through the gateway in memory and on PostgreSQL, figures every minute (Soak.cs).
// --streams N: N concurrent slow streams through one embedded gateway, chunk delays against a direct connection (ManyStreams.cs).
var soakMinutes = args.Contains("--soak") ? Int("--soak", 10) : 0;
var streamCount = args.Contains("--streams") ? Int("--streams", 512) : 0;
// --cache: the response cache's hit against its miss and against no cache, one embedded gateway (CacheBench.cs).
var cacheRun = args.Contains("--cache");
string[] mockMode = streamCount > 0 ? ManyStreams.MockArgs : soakMinutes > 0 ? Soak.MockArgs : cacheRun ? CacheBench.MockArgs : [];
var mock = services.Add(await Service.StartAsync("mock", Dll("Orleans.LlmRouter.MockUpstream", "testassets"), ["--urls", $"http://127.0.0.1:{mockPort}", .. mockMode], new Dictionary<string, string>(), new Uri($"http://127.0.0.1:{mockPort}"), "/v1/models", work));
if (cacheRun)
{
    var gw = services.Add(await StartGatewayAsync("gateway", storage: null));
    var machine = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}";
    return await CacheBench.RunAsync(gw, hot, connections, duration, machine, work, outDir);
}

if (soakMinutes > 0 || streamCount > 0)
{
    var runId = DateTime.UtcNow.ToString("MMddHHmm", CultureInfo.InvariantCulture);
    var machine = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}";
    if (streamCount > 0)
    {
        var streamTenant = ManyStreams.Tenant(runId);
        var gw = services.Add(await StartGatewayAsync("gateway", storage: null, extraYaml: ManyStreams.Yaml(streamTenant)));
        return await ManyStreams.RunAsync(mock, gw, streamCount, streamTenant, machine, outDir);
    }

    var modes = new List<(string Name, string? Storage)>();
    if (Wanted("gateway"))
    {
        modes.Add(("gateway", null));
    }

    if (Wanted("gateway-pg"))
    {
        if (string.IsNullOrEmpty(postgres))
        {
            Console.Error.WriteLine("gateway-pg: LLMROUTER_POSTGRES is not set; the durable soak is skipped");
        }
        else
        {
            modes.Add(("gateway-pg", postgres));
        }
    }

    var failed = 0;
    foreach (var (name, storage) in modes)
    {
        // One soak at a time: each gateway is started for its run and stopped before the next.
        var tenants = Soak.Tenants(runId + (storage is null ? "m" : "p"));
        using var gw = await StartGatewayAsync(name, storage, extraYaml: Soak.Yaml(mock.Address, tenants));
        failed += await Soak.RunAsync(gw, tenants, TimeSpan.FromMinutes(soakMinutes), Int("--rate", 100), machine, outDir);
    }

    return failed == 0 ? 0 : 1;
}

var targets = new List<Service>();
if (Wanted("mock"))
{
    targets.Add(mock);
}

if (Wanted("yarp"))
{
    var proxyPort = Service.FreePort();
    targets.Add(services.Add(await Service.StartAsync("yarp", Dll("Orleans.LlmRouter.Bench.Proxy", "bench"), ["--urls", $"http://127.0.0.1:{proxyPort}", "--destination", mock.Address.ToString()], new Dictionary<string, string>(), new Uri($"http://127.0.0.1:{proxyPort}"), "/v1/models", work)));
}

if (Wanted("portkey") && Environment.GetEnvironmentVariable("PORTKEY_GATEWAY") is { Length: > 0 } portkey)
{
    // Portkey's open-source gateway (Node), as `npx @portkey-ai/gateway` runs it, routing to the mock as a custom OpenAI host.
    var portkeyPort = Service.FreePort();
    targets.Add(services.Add(await Service.StartProgramAsync("portkey", "node", [portkey, $"--port={portkeyPort}", "--headless"], Path.GetDirectoryName(portkey)!,
        new Dictionary<string, string> { ["NODE_ENV"] = "production" }, new Uri($"http://127.0.0.1:{portkeyPort}"), "/", work,
        new Dictionary<string, string> { ["x-portkey-provider"] = "openai", ["x-portkey-custom-host"] = mock.Address.ToString().TrimEnd('/') + "/v1" })));
}

if (Wanted("gateway"))
{
    targets.Add(services.Add(await StartGatewayAsync("gateway", storage: null)));
}

// Telemetry overhead: "gateway" is the default (OpenTelemetry metrics on, no exporter attached, nobody scraping);
// "gateway-otel-off" registers no OpenTelemetry at all; "gateway-scraped" is the default with Prometheus scraping
// /metrics every 5 s, as the compose observability profile does.
if (Wanted("gateway-otel-off"))
{
    targets.Add(services.Add(await StartGatewayAsync("gateway-otel-off", storage: null, new Dictionary<string, string> { ["LlmRouter__Telemetry__Enabled"] = "false" })));
}

// Trace context (issue 31): "gateway" carries W3C trace context to the upstream with no exporter (the default);
// "gateway-trace-off" does not (LlmRouter:Telemetry:TraceContext=false, the behaviour before): the cost of carrying it.
if (Wanted("gateway-trace-off"))
{
    targets.Add(services.Add(await StartGatewayAsync("gateway-trace-off", storage: null, new Dictionary<string, string> { ["LlmRouter__Telemetry__TraceContext"] = "false" })));
}

using var scraping = new CancellationTokenSource();
if (Wanted("gateway-scraped"))
{
    var scraped = services.Add(await StartGatewayAsync("gateway-scraped", storage: null));
    targets.Add(scraped);
    _ = Task.Run(() => ScrapeAsync(scraped.Address, scraping.Token));
}

// A regression check in one run: the same scenarios against a build of an earlier commit, same mock, same config.
if (Wanted("gateway-baseline") && Environment.GetEnvironmentVariable("LLMROUTER_BENCH_BASELINE") is { Length: > 0 } baseline)
{
    targets.Add(services.Add(await StartGatewayAsync("gateway-baseline", storage: null, hostRoot: baseline)));
}

if (Wanted("gateway-pg") && !string.IsNullOrEmpty(postgres))
{
    targets.Add(services.Add(await StartGatewayAsync("gateway-pg", storage: postgres)));
}

// The variants of the gateway (telemetry off or scraped, an earlier build) run the scenarios that show overhead
// (throughput at saturation, latency, TTFT) only.
static bool TelemetryVariant(string name) => name is "gateway-otel-off" or "gateway-trace-off" or "gateway-scraped" or "gateway-baseline";

Console.WriteLine($"Orleans.LlmRouter bench — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {(quick ? "quick" : "full")} run; wrk {(Wrk.Available ? "found" : "NOT found: closed-loop runs skipped")}");
foreach (var t in targets)
{
    // Warm-up: JIT (through tiered compilation), connection pools, grain activations, tokenizer and lease caches.
    await OpenLoop.RunAsync(t, small, many, 200, TimeSpan.FromSeconds(quick ? 1 : 3), stream: false);
    if (Wrk.Available)
    {
        await Wrk.RunAsync(t, small, hot, connections, TimeSpan.FromSeconds(Int("--warmup", quick ? 2 : 20)), work);
    }

    if (t.Name != "portkey")
    {
        await OpenLoop.RunAsync(t, streaming, hot, 100, TimeSpan.FromSeconds(1), stream: true);
    }
}

foreach (var t in targets)
{
    var isGateway = t.Name.StartsWith("gateway", StringComparison.Ordinal);
    if (Wrk.Available)
    {
        results.Add(await Measured(t, $"closed c={connections} small, hot tenant", () => Wrk.RunAsync(t, small, hot, connections, duration, work)));
        if (!TelemetryVariant(t.Name))
        {
            results.Add(await Measured(t, $"closed c={connections} 10KB, hot tenant", () => Wrk.RunAsync(t, large, hot, connections, duration, work)));
        }

        if (isGateway && !TelemetryVariant(t.Name))
        {
            results.Add(await Measured(t, $"closed c={connections} small, 5 deployments, hot tenant", () => Wrk.RunAsync(t, pooled, hot, connections, duration, work)));
            results.Add(await Measured(t, $"closed c={connections} small, {tenantCount} tenants", () => Wrk.RunAsync(t, small, many, connections, duration, work)));
            if (hotConnections != connections)
            {
                results.Add(await Measured(t, $"closed c={hotConnections} small, hot tenant", () => Wrk.RunAsync(t, small, hot, hotConnections, duration, work)));
            }

            if (t.Name != "gateway-baseline")
            {
                results.Add(await Measured(t, $"closed c={connections} small, hot tenant, 4 levels", () => Wrk.RunAsync(t, leveled, levelKey, connections, duration, work)));
                if (hotConnections != connections)
                {
                    results.Add(await Measured(t, $"closed c={hotConnections} small, hot tenant, 4 levels", () => Wrk.RunAsync(t, leveled, levelKey, hotConnections, duration, work)));
                }
            }
        }
    }

    results.Add((t.Name, $"open {rate}/s small", await OpenLoop.RunAsync(t, small, hot, rate, duration, stream: false)));
    if (isGateway && !TelemetryVariant(t.Name))
    {
        results.Add((t.Name, $"open {rate}/s small, 5 deployments", await OpenLoop.RunAsync(t, pooled, hot, rate, duration, stream: false)));
    }

    if (t.Name != "portkey")
    {
        // Portkey 1.15.2 answers every streamed request with 500 on Node 20 (TypeError "immutable" when it appends a header
        // to the upstream response), so its streaming is not measured.
        results.Add((t.Name, $"open {streamRate}/s stream", await OpenLoop.RunAsync(t, streaming, hot, streamRate, duration, stream: true)));
    }
    if (isGateway)
    {
        memory[t.Name] = t.Memory();
    }
}

// Report.
var table = new StringBuilder();
table.AppendLine("| target | scenario | req/s | p50 ms | p90 ms | p99 ms | TTFT p50 ms | TTFT p99 ms | errors | cores used | CPU µs/call |");
table.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var (target, scenario, f) in results)
{
    var (cores, perCall) = cpu.TryGetValue((target, scenario), out var c) ? c : (double.NaN, double.NaN);
    table.AppendLine(CultureInfo.InvariantCulture, $"| {target} | {scenario} | {f.Rps:0} | {f.P50:0.00} | {f.P90:0.00} | {f.P99:0.00} | {Opt(f.Ttft50)} | {Opt(f.Ttft99)} | {f.Errors} | {Opt(double.IsNaN(cores) ? null : cores)} | {(double.IsNaN(perCall) ? "—" : perCall.ToString("0", CultureInfo.InvariantCulture))} |");
}

var ratios = new Dictionary<string, double>();
foreach (var g in targets.Where(t => t.Name.StartsWith("gateway", StringComparison.Ordinal)).Select(t => t.Name))
{
    foreach (var scenario in results.Where(r => r.Target == g).Select(r => r.Scenario).Distinct())
    {
        var gw = results.FirstOrDefault(r => r.Target == g && r.Scenario == scenario).F;
        var yarp = results.FirstOrDefault(r => r.Target == "yarp" && r.Scenario == scenario).F;
        var floor = results.FirstOrDefault(r => r.Target == "mock" && r.Scenario == scenario).F;
        if (yarp is not null && scenario.StartsWith("closed", StringComparison.Ordinal))
        {
            ratios[$"{g} / yarp req/s, {scenario}"] = gw.Rps / yarp.Rps;
        }

        var portkeyFigures = results.FirstOrDefault(r => r.Target == "portkey" && r.Scenario == scenario).F;
        if (portkeyFigures is not null && scenario.StartsWith("closed", StringComparison.Ordinal))
        {
            ratios[$"{g} / portkey req/s, {scenario}"] = gw.Rps / portkeyFigures.Rps;
        }

        if (scenario.Contains(", 5 deployments", StringComparison.Ordinal)
            && results.FirstOrDefault(r => r.Target == g && r.Scenario == scenario.Replace(", 5 deployments", string.Empty, StringComparison.Ordinal)).F is { } single)
        {
            // Balancing five deployments against one provider, same gateway, same run.
            if (scenario.StartsWith("closed", StringComparison.Ordinal))
            {
                ratios[$"{g} 5-deployment / single-provider req/s, {scenario}"] = gw.Rps / single.Rps;
            }
            else
            {
                ratios[$"{g} 5-deployment minus single-provider p50 ms, {scenario}"] = gw.P50 - single.P50;
            }
        }

        if (floor is not null && scenario.StartsWith("open", StringComparison.Ordinal))
        {
            ratios[$"{g} added p50 ms over mock, {scenario}"] = gw.P50 - floor.P50;
            ratios[$"{g} added p99 ms over mock, {scenario}"] = gw.P99 - floor.P99;
            if (gw.Ttft50 is { } gt && floor.Ttft50 is { } ft)
            {
                ratios[$"{g} added TTFT p50 ms over mock, {scenario}"] = gt - ft;
            }
        }
    }
}

foreach (var variant in new[] { "gateway-otel-off", "gateway-trace-off", "gateway-scraped", "gateway-baseline" })
{
    var label = variant switch { "gateway-baseline" => "gateway", "gateway-trace-off" => "gateway (trace context carried)", _ => "gateway (telemetry on)" };
    foreach (var scenario in results.Where(r => r.Target == variant).Select(r => r.Scenario).Distinct())
    {
        var on = results.FirstOrDefault(r => r.Target == "gateway" && r.Scenario == scenario).F;
        var other = results.First(r => r.Target == variant && r.Scenario == scenario).F;
        if (on is null)
        {
            continue;
        }

        if (scenario.StartsWith("closed", StringComparison.Ordinal))
        {
            ratios[$"{label} / {variant} req/s, {scenario}"] = on.Rps / other.Rps;
            if (cpu.TryGetValue(("gateway", scenario), out var a) && cpu.TryGetValue((variant, scenario), out var b))
            {
                ratios[$"{label} minus {variant} CPU µs/call, {scenario}"] = a.MicrosPerCall - b.MicrosPerCall;
            }
        }
        else
        {
            ratios[$"{label} minus {variant} p50 ms, {scenario}"] = on.P50 - other.P50;
        }
    }
}

scraping.Cancel();
table.AppendLine();
table.AppendLine("| derived | value |");
table.AppendLine("|---|---:|");
foreach (var (k, v) in ratios)
{
    table.AppendLine(CultureInfo.InvariantCulture, $"| {k} | {v:0.00} |");
}

foreach (var (name, (rss, peak)) in memory)
{
    table.AppendLine(CultureInfo.InvariantCulture, $"| {name} RSS after the runs / peak RSS (MB) | {rss:0} / {peak:0} |");
}

Console.WriteLine();
Console.WriteLine(table);
var json = JsonSerializer.Serialize(new
{
    date = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
    machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, runtime = Environment.Version.ToString() },
    settings = new { quick, durationSeconds = duration.TotalSeconds, connections, rate, streamRate, tenants = tenantCount, postgres = !string.IsNullOrEmpty(postgres) },
    results = results.Select(r => new { target = r.Target, scenario = r.Scenario, rps = Finite(r.F.Rps), p50Ms = Finite(r.F.P50), p90Ms = Finite(r.F.P90), p99Ms = Finite(r.F.P99), ttftP50Ms = Finite(r.F.Ttft50), ttftP99Ms = Finite(r.F.Ttft99), requests = r.F.Requests, errors = r.F.Errors }),
    derived = ratios.ToDictionary(r => r.Key, r => Finite(r.Value)),
    memoryMb = memory.ToDictionary(m => m.Key, m => new { rss = m.Value.Rss, peak = m.Value.Peak }),
    cpu = cpu.Select(c => new { target = c.Key.Target, scenario = c.Key.Scenario, cores = Finite(c.Value.Cores), microsPerCall = Finite(c.Value.MicrosPerCall) }),
}, new JsonSerializerOptions { WriteIndented = true });
await File.WriteAllTextAsync(Path.Combine(outDir, "latest.json"), json);
await File.WriteAllTextAsync(Path.Combine(outDir, "latest.md"), table.ToString());
Console.WriteLine($"written: bench/results/latest.json and latest.md (process logs in {work})");
return 0;

// A closed-loop run with the target process's CPU: cores used (CPU seconds / wall seconds: does routing use both cores
// under saturation?) and CPU microseconds per call (the figure least disturbed by a noisy machine).
async Task<(string Target, string Scenario, Figures F)> Measured(Service target, string scenario, Func<Task<Figures>> run)
{
    var cpuBefore = target.CpuTime();
    var wall = System.Diagnostics.Stopwatch.StartNew();
    var figures = await run();
    var cpuUsed = target.CpuTime() - cpuBefore;
    cpu[(target.Name, scenario)] = (cpuUsed.TotalSeconds / wall.Elapsed.TotalSeconds, figures.Requests > 0 ? cpuUsed.TotalMicroseconds / figures.Requests : double.NaN);
    return (target.Name, scenario, figures);
}

// hostRoot: the checkout whose Release build and config/ to run (an earlier commit for gateway-baseline); this one by default.
// extraYaml: one more catalog file (providers, models, actions, tenants of a soak or stream run), merged with the rest.
async Task<Service> StartGatewayAsync(string name, string? storage, Dictionary<string, string>? extra = null, string? hostRoot = null, string? extraYaml = null)
{
    var config = Path.Combine(work, name + "-config");
    if (Directory.Exists(config))
    {
        Directory.Delete(config, recursive: true);
    }

    Directory.CreateDirectory(config);
    foreach (var file in Directory.GetFiles(Path.Combine(hostRoot ?? root, "config"), "*.yaml"))
    {
        File.Copy(file, Path.Combine(config, Path.GetFileName(file)));
    }

    var yaml = new StringBuilder($$"""
        providers:
          - { id: bench, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
          - { id: bench-d1, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
          - { id: bench-d2, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
          - { id: bench-d3, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
          - { id: bench-d4, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
          - { id: bench-d5, type: openai, base_url: "{{mock.Address.ToString().TrimEnd('/')}}", api_key_env: BENCH_MOCK_KEY, timeout_seconds: 30, priority: 5 }
        models:
          - { name: mock-small, provider: bench, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096,
              capabilities: [chat, streaming, tools, structured_output], pricing: { input: 0.15, output: 0.60 } }
          - name: mock-pool
            context_window: 128000
            max_output_tokens: 4096
            capabilities: [chat, streaming, tools, structured_output]
            pricing: { input: 0.15, output: 0.60 }
            deployments:
              - { provider: bench-d1, provider_model: mock-small, weight: 2 }
              - { provider: bench-d2, provider_model: mock-small }
              - { provider: bench-d3, provider_model: mock-small }
              - { provider: bench-d4, provider_model: mock-small }
              - { provider: bench-d5, provider_model: mock-small }
        tenants:

        """);
    foreach (var key in hot.Concat(many))
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: {key["sk-bench-".Length..]}, key_hashes: [\"sha256:{hash}\"], budgets: {{ tokens: {{ daily: 100000000000 }}, usd: {{ daily: 1000000 }} }}, limits: {{ rpm: 100000000, tpm: 100000000000 }} }}");
    }

    if (hostRoot is null)
    {
        // A tenant, a project, a key of the project and a budgeted end user, every level budgeted (far from its limits).
        var levelHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(levelKey[0])));
        yaml.AppendLine(CultureInfo.InvariantCulture, $$"""
              - id: levels
                budgets: { tokens: { daily: 100000000000 }, usd: { daily: 1000000 } }
                limits: { rpm: 100000000, tpm: 100000000000 }
                projects: [ { id: app, budgets: { tokens: { daily: 90000000000 }, usd: { daily: 900000 } }, limits: { rpm: 90000000 } } ]
                keys: [ { id: bench, hash: "sha256:{{levelHash}}", project: app, budgets: { tokens: { daily: 80000000000 } }, limits: { rpm: 80000000 } } ]
                end_users: { bench-user: { budgets: { tokens: { daily: 70000000000 } }, limits: { rpm: 70000000 } } }
            """);
    }

    var text = yaml.ToString();
    if (hostRoot is not null)
    {
        // An earlier build may predate model deployments: the pooled model (measured by this build only) is left out.
        var start = text.IndexOf("\n  - name: mock-pool", StringComparison.Ordinal) + 1;
        text = text[..start] + text[text.IndexOf("\ntenants:", start, StringComparison.Ordinal)..][1..];
    }

    await File.WriteAllTextAsync(Path.Combine(config, "bench.yaml"), text);
    if (extraYaml is not null)
    {
        await File.WriteAllTextAsync(Path.Combine(config, "run.yaml"), extraYaml);
    }

    var port = Service.FreePort();
    var env = new Dictionary<string, string>
    {
        ["BENCH_MOCK_KEY"] = "sk-bench-upstream",
        ["LlmRouter__ConfigPath"] = config,
        ["LlmRouter__SiloPort"] = Service.FreePort().ToString(CultureInfo.InvariantCulture),
        ["LlmRouter__GatewayPort"] = Service.FreePort().ToString(CultureInfo.InvariantCulture),
        ["LlmRouter__ClusterId"] = "bench-" + name,
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["Logging__LogLevel__Default"] = "Warning",
    };
    foreach (var (k, v) in extra ?? [])
    {
        env[k] = v;
    }

    if (storage is not null)
    {
        env["LlmRouter__Storage"] = "postgres";
        env["LlmRouter__Postgres"] = storage;
        env["LlmRouter__SpoolDirectory"] = Path.Combine(work, name + "-spool");
        env["LlmRouter__AllowDevKeys"] = "true"; // insecure opt-in: the shipped dev keys, outside the embedded mode
        env["LlmRouter__AllowSimulated"] = "true";
    }

    var host = hostRoot is null ? Dll("Orleans.LlmRouter.Host") : Path.Combine(hostRoot, "src", "Orleans.LlmRouter.Host", "bin", "Release", "net10.0", "Orleans.LlmRouter.Host.dll");
    return await Service.StartAsync(name, host, [], env, new Uri($"http://127.0.0.1:{port}"), "/readyz", work);
}

// Prometheus' part: GET /metrics every 5 s with the admin key while the bench runs.
static async Task ScrapeAsync(Uri gateway, CancellationToken cancel)
{
    using var http = new HttpClient { BaseAddress = gateway };
    http.DefaultRequestHeaders.Authorization = new("Bearer", "sk-llmrouter-admin-dev");
    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
    try
    {
        while (await timer.WaitForNextTickAsync(cancel))
        {
            using var response = await http.GetAsync("/metrics", cancel);
            _ = await response.Content.ReadAsByteArrayAsync(cancel);
        }
    }
    catch (OperationCanceledException)
    {
    }
}

int Int(string name, int fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v && int.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : fallback;

// JSON has no NaN: a figure that could not be measured is written as null.
static double? Finite(double? v) => v is { } x && double.IsFinite(x) ? x : null;

static string Opt(double? v) => v is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) : "";

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Orleans.LlmRouter.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run from inside the repository");
}

/// <summary>Disposes the started services in reverse order.</summary>
internal sealed class DisposableList : IDisposable
{
    private readonly List<IDisposable> _items = [];

    public T Add<T>(T item)
        where T : IDisposable
    {
        _items.Add(item);
        return item;
    }

    public void Dispose()
    {
        for (var i = _items.Count - 1; i >= 0; i--)
        {
            _items[i].Dispose();
        }
    }
}
