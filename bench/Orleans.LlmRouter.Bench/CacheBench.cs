using System.Globalization;
using System.Text;

namespace Orleans.LlmRouter.Bench;

/// <summary>
/// <c>bench/run.sh --cache</c>: the response cache's hit against its miss, in one run, through one embedded gateway on
/// a mock upstream that answers after a fixed delay (an LLM is never instant): closed-loop at the same concurrency,
/// (1) every request different without the cache (<c>bypass</c>), (2) every request different with
/// <c>X-LlmRouter-Cache: use</c> (each a <c>miss</c>: looked up, routed through its cache grain, stored), (3) one request
/// over and over with the cache (<c>hit</c> after the first).
/// </summary>
internal static class CacheBench
{
    /// <summary>The mock for this run: every answer after 20 ms.</summary>
    public static readonly string[] MockArgs = ["--latency-ms", "20"];

    private const string Body = """{"model":"mock-small","max_tokens":64,"temperature":0,"messages":[{"role":"user","content":"Say hello to the cache benchmark, request @N@."}]}""";

    public static async Task<int> RunAsync(Service gateway, IReadOnlyList<string> keys, int connections, TimeSpan duration, string machine, string workDir, string outDir)
    {
        if (!Wrk.Available)
        {
            Console.Error.WriteLine("--cache needs wrk (Debian: apt-get install -y wrk)");
            return 1;
        }

        var use = new Dictionary<string, string> { ["X-LlmRouter-Cache"] = "use" };
        var fixedBody = Body.Replace("@N@", "fixed", StringComparison.Ordinal);

        // Warm-up of every path (JIT, pools, grain activations), then the measured runs, each the same length.
        await Wrk.RunAsync(gateway, Body, keys, connections, TimeSpan.FromSeconds(10), workDir, uniqueBodies: true);
        await Wrk.RunAsync(gateway, Body, keys, connections, TimeSpan.FromSeconds(5), workDir, use, uniqueBodies: true);
        await Wrk.RunAsync(gateway, fixedBody, keys, connections, TimeSpan.FromSeconds(5), workDir, use);
        var rows = new List<(string Scenario, Figures F)>
        {
            ("bypass: every request different, no cache", await Wrk.RunAsync(gateway, Body, keys, connections, duration, workDir, uniqueBodies: true)),
            ("miss: every request different, X-LlmRouter-Cache: use", await Wrk.RunAsync(gateway, Body, keys, connections, duration, workDir, use, uniqueBodies: true)),
            ("hit: one request repeated, X-LlmRouter-Cache: use", await Wrk.RunAsync(gateway, fixedBody, keys, connections, duration, workDir, use)),
        };

        var miss = rows[1].F;
        var hit = rows[2].F;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Response cache, {machine}; mock upstream answers after 20 ms; closed loop c={connections}, {duration.TotalSeconds:0} s each, one embedded gateway (in-memory store).");
        sb.AppendLine();
        sb.AppendLine("| scenario | req/s | p50 ms | p90 ms | p99 ms | errors |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (scenario, f) in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {scenario} | {f.Rps:0} | {f.P50:0.0} | {f.P90:0.0} | {f.P99:0.0} | {f.Errors} |");
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"hit / miss: {hit.Rps / miss.Rps:0.0}x the throughput, p50 {hit.P50:0.0} ms against {miss.P50:0.0} ms.");
        Console.Write(sb.ToString());
        var file = Path.Combine(outDir, $"cache-{DateTime.UtcNow:yyyyMMdd-HHmm}.md");
        await File.WriteAllTextAsync(file, sb.ToString());
        Console.WriteLine($"written to {file}");
        return rows.Sum(r => r.F.Errors) == 0 ? 0 : 1;
    }
}
