using System.Globalization;
using Orleans.LlmRouter.MockUpstream;

// Standalone mock for benchmarks:
//   dotnet run --project src/Orleans.LlmRouter.MockUpstream -- --urls http://127.0.0.1:5999 [--latency-ms N] [--ttft-ms N] [--chunk-ms N]
//     [--stamp-chunks] [--model-scenario MODEL=SCENARIO ...]
var url = Option("--urls") ?? "http://127.0.0.1:5999";
if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !System.Net.IPAddress.TryParse(uri.Host, out var ip) || !System.Net.IPAddress.IsLoopback(ip))
{
    Console.Error.WriteLine("The mock upstream binds loopback only (e.g. http://127.0.0.1:5999).");
    return 2;
}

await using var server = await MockUpstreamServer.StartAsync(url, record: false);
server.Timing = new MockTiming(Ms("--latency-ms"), Ms("--ttft-ms"), Ms("--chunk-ms"));
server.StampChunks = args.Contains("--stamp-chunks");
// --model-scenario MODEL=SCENARIO (repeatable): every request for MODEL gets SCENARIO (one mock playing a broken deployment).
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--model-scenario" && args[i + 1].Split('=', 2) is [{ Length: > 0 } model, { Length: > 0 } scenario])
    {
        server.ModelScenarios[model] = scenario;
    }
}

Console.WriteLine($"mock upstream listening on {server.BaseAddress} (latency {server.Timing.Latency.TotalMilliseconds} ms, first token {server.Timing.TimeToFirstToken.TotalMilliseconds} ms, chunks every {server.Timing.ChunkDelay.TotalMilliseconds} ms)");
var done = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => done.TrySetResult();
await done.Task;
return 0;

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

TimeSpan Ms(string name) => double.TryParse(Option(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
