using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Orleans.LlmRouter.Bench;

/// <summary>One measured run.</summary>
internal sealed record Figures(double Rps, double P50, double P90, double P99, long Requests, long Errors, double? Ttft50 = null, double? Ttft99 = null);

/// <summary>Closed-loop load at fixed concurrency with wrk (requests from a Lua script, tenant keys rotated).</summary>
internal static partial class Wrk
{
    public static bool Available => File.Exists("/usr/bin/wrk") || File.Exists("/usr/local/bin/wrk");

    /// <summary>
    /// Posts <paramref name="body"/> to <paramref name="target"/> for <paramref name="duration"/> at <paramref name="connections"/>,
    /// rotating <paramref name="keys"/>, with <paramref name="headers"/> besides the target's own (the Lua script goes to
    /// <paramref name="workDir"/>); with <paramref name="uniqueBodies"/> every request's body differs (each <c>@N@</c>
    /// becomes a per-request number).
    /// </summary>
    public static async Task<Figures> RunAsync(Service target, string body, IReadOnlyList<string> keys, int connections, TimeSpan duration, string workDir,
        IReadOnlyDictionary<string, string>? headers = null, bool uniqueBodies = false)
    {
        var script = Path.Combine(workDir, $"post-{Guid.NewGuid():N}.lua");
        var sb = new StringBuilder();
        sb.AppendLine("local keys = {" + string.Join(",", keys.Select(k => "\"" + k + "\"")) + "}");
        sb.AppendLine("local body = [==[" + body + "]==]");
        sb.AppendLine("local i = 0");
        sb.AppendLine("math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))");
        sb.AppendLine("local prefix = tostring(math.random(1, 1000000000))");
        sb.AppendLine("request = function()");
        sb.AppendLine("  i = i + 1");
        var extra = string.Concat(target.Headers.Concat(headers ?? new Dictionary<string, string>()).Select(h => $", [\"{h.Key}\"] = \"{h.Value}\""));
        // Each wrk thread runs its own Lua state: the thread's random prefix keeps numbers apart across threads.
        var payload = uniqueBodies ? "(string.gsub(body, \"@N@\", prefix .. \"-\" .. i))" : "body";
        sb.AppendLine("  return wrk.format(\"POST\", \"/v1/chat/completions\", { [\"Content-Type\"] = \"application/json\", [\"Authorization\"] = \"Bearer \" .. keys[(i % #keys) + 1]" + extra + " }, " + payload + ")");
        sb.AppendLine("end");
        await File.WriteAllTextAsync(script, sb.ToString());
        var info = new ProcessStartInfo("wrk", ["-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "-s", script, target.Address.ToString().TrimEnd('/')])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(info)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        double Pct(string pct) => Millis(Regex.Match(output, $@"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline));
        var requests = long.Parse(RequestsRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = NonOkRegex().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socket = SocketRegex().Match(output) is { Success: true } s ? Enumerable.Range(1, 4).Sum(g => long.Parse(s.Groups[g].Value, CultureInfo.InvariantCulture)) : 0;
        var rps = double.Parse(RpsRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        return new Figures(rps, Pct("50"), Pct("90"), Pct("99"), requests, non2xx + socket);
    }

    private static double Millis(Match m)
    {
        if (!m.Success)
        {
            return double.NaN;
        }

        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsRegex();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonOkRegex();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketRegex();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsRegex();
}

/// <summary>
/// Open-loop load at a fixed rate: requests are sent on schedule whether or not earlier ones returned, and latency
/// counts from the scheduled time (no coordinated omission). For streams, also the time to the first content chunk.
/// </summary>
internal static class OpenLoop
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 4096,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        UseProxy = false,
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<Figures> RunAsync(Service target, string body, IReadOnlyList<string> keys, int rate, TimeSpan duration, bool stream)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var ttfts = new double[total];
        long errors = 0;
        var started = Stopwatch.GetTimestamp();
        var tasks = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var due = started + (long)(i * (double)Stopwatch.Frequency / rate);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }
            else if (wait > TimeSpan.Zero)
            {
                while (Stopwatch.GetTimestamp() < due)
                {
                    Thread.SpinWait(50);
                }
            }

            var index = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.Address, "/v1/chat/completions"))
                    {
                        Content = new StringContent(body, Encoding.UTF8, "application/json"),
                    };
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys[index % keys.Count]);
                    foreach (var (name, value) in target.Headers)
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }

                    using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }

                    if (stream)
                    {
                        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                        string? line;
                        while ((line = await reader.ReadLineAsync()) is not null)
                        {
                            if (ttfts[index] == 0 && line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                            {
                                ttfts[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                            }
                        }
                    }
                    else
                    {
                        await response.Content.ReadAsByteArrayAsync();
                    }

                    latencies[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.Increment(ref errors);
                    latencies[index] = double.NaN;
                }
            }));
        }

        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var ok = latencies.Where(l => !double.IsNaN(l)).Order().ToArray();
        var firsts = ttfts.Where(t => t > 0).Order().ToArray();
        return new Figures(total / elapsed, Percentile(ok, 50), Percentile(ok, 90), Percentile(ok, 99), total, errors,
            stream ? Percentile(firsts, 50) : null, stream ? Percentile(firsts, 99) : null);
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
