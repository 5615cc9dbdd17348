// The MCP gateway's cost per tool call, measured in one run (issue 30): one MCP client of the official SDK calls the
// `echo` tool of an SDK-built MCP server on loopback, first directly, then through the gateway's /mcp (embedded, in
// this process, full governance: tenant key, allow-list, the server's breaker/rpm grain, a priced call reserved and
// settled on the budget grain, a ledger row). Both targets run in this process, so the process CPU per call of
// "through the gateway" minus "direct" is what the gateway adds (its own work plus the extra loopback hop).
//
//   dotnet run -c Release --project bench/Orleans.LlmRouter.Bench.Mcp -- [--seconds 10] [--concurrency 16]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orleans.LlmRouter.Host.Hosting;

var seconds = Arg("--seconds", 10);
var concurrency = Arg("--concurrency", 16);
const string TenantKey = "sk-bench-mcp";

// The upstream MCP server: one echo tool.
var upstreamBuilder = WebApplication.CreateSlimBuilder();
upstreamBuilder.WebHost.UseUrls("http://127.0.0.1:0");
upstreamBuilder.Logging.ClearProviders();
var schema = JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}}}""").RootElement.Clone();
upstreamBuilder.Services.AddMcpServer().WithHttpTransport()
    .WithListToolsHandler((_, _) => ValueTask.FromResult(new ListToolsResult { Tools = [new Tool { Name = "echo", InputSchema = schema }] }))
    .WithCallToolHandler((ctx, _) => ValueTask.FromResult(new CallToolResult { Content = [new TextContentBlock { Text = ctx.Params!.Arguments!["text"].GetString()! }] }));
await using var upstream = upstreamBuilder.Build();
upstream.MapMcp("/mcp");
await upstream.StartAsync();
var upstreamUrl = new Uri(new Uri(upstream.Urls.First()), "/mcp");

// The gateway: shipped config plus the server and a bench tenant (no budget pressure, priced calls).
var dir = Directory.CreateTempSubdirectory("llmrouter-bench-mcp-").FullName;
foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
{
    File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
}

var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(TenantKey)));
File.WriteAllText(Path.Combine(dir, "bench-mcp.yaml"), $$"""
    mcp_servers:
      - id: bench
        url: {{upstreamUrl}}
        timeout_seconds: 30
        pricing: { per_call: 0.0001 }
    tenants:
      - id: bench-mcp
        key_hashes: ["sha256:{{hash}}"]
        budgets: { usd: { lifetime: 1000000 } }
        mcp: { servers: [bench] }
    """);
await using var gateway = GatewayHost.Build(["--urls", "http://127.0.0.1:0", $"--LlmRouter:ConfigPath={dir}", "--Logging:LogLevel:Default=Warning"]);
await gateway.StartAsync();
var gatewayUrl = new Uri(new Uri(gateway.Urls.First()), "/mcp");

await using var direct = await ConnectAsync(upstreamUrl, null);
await using var through = await ConnectAsync(gatewayUrl, TenantKey);
await direct.ListToolsAsync(); // as an agent would: the client then knows its tools' schemas
await through.ListToolsAsync();

Console.WriteLine($"MCP tool call, {Environment.ProcessorCount} cores, {seconds} s per phase, closed loop; in-process upstream and gateway (embedded, in memory)");
Console.WriteLine();
Console.WriteLine("| target | concurrency | calls/s | p50 ms | p99 ms | process CPU µs/call |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
var results = new Dictionary<string, Result>();
foreach (var c in new[] { 1, concurrency })
{
    foreach (var (name, client, tool) in new[] { ("direct", direct, "echo"), ("via /mcp", through, "bench__echo") })
    {
        await RunAsync(client, tool, c, TimeSpan.FromSeconds(Math.Min(3, seconds))); // warm-up
        var r = await RunAsync(client, tool, c, TimeSpan.FromSeconds(seconds));
        results[$"{name}/{c}"] = r;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {c} | {r.PerSecond:0} | {r.P50:0.000} | {r.P99:0.000} | {r.CpuMicrosPerCall:0} |"));
    }
}

Console.WriteLine();
foreach (var c in new[] { 1, concurrency })
{
    var d = results[$"direct/{c}"];
    var g = results[$"via /mcp/{c}"];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"concurrency {c}: the gateway adds p50 {g.P50 - d.P50:0.000} ms, p99 {g.P99 - d.P99:0.000} ms, {g.CpuMicrosPerCall - d.CpuMicrosPerCall:0} µs CPU per call; throughput {g.PerSecond / d.PerSecond:0.00}x of direct"));
}

await gateway.StopAsync();
await upstream.StopAsync();
Directory.Delete(dir, recursive: true);
return 0;

static async Task<Result> RunAsync(McpClient client, string tool, int concurrency, TimeSpan duration)
{
    var args = new Dictionary<string, object?> { ["text"] = "hello" };
    var latencies = new List<double>[concurrency];
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async i =>
    {
        var mine = latencies[i] = new List<double>(100_000);
        while (watch.Elapsed < duration)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await client.CallToolAsync(tool, args);
            if (result.IsError == true)
            {
                throw new InvalidOperationException("tool error");
            }

            mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }));
    var elapsed = watch.Elapsed;
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return new Result(all.Length / elapsed.TotalSeconds, all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], used.TotalMicroseconds / all.Length);
}

static async Task<McpClient> ConnectAsync(Uri endpoint, string? key) =>
    await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
    {
        Endpoint = endpoint,
        TransportMode = HttpTransportMode.StreamableHttp,
        AdditionalHeaders = key is null ? null : new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
    }));

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

internal sealed record Result(double PerSecond, double P50, double P99, double CpuMicrosPerCall);
