using Orleans.LlmRouter.MockUpstream;

// Standalone mock for benchmarks: dotnet run --project src/Orleans.LlmRouter.MockUpstream -- --urls http://127.0.0.1:5999
var url = args.SkipWhile(a => a != "--urls").Skip(1).FirstOrDefault() ?? "http://127.0.0.1:5999";
if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !System.Net.IPAddress.TryParse(uri.Host, out var ip) || !System.Net.IPAddress.IsLoopback(ip))
{
    Console.Error.WriteLine("The mock upstream binds loopback only (e.g. http://127.0.0.1:5999).");
    return 2;
}

await using var server = await MockUpstreamServer.StartAsync(url, record: false);
Console.WriteLine($"mock upstream listening on {server.BaseAddress}");
var done = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => done.TrySetResult();
await done.Task;
return 0;
