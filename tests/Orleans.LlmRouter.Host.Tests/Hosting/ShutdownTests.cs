using System.Diagnostics;
using System.Globalization;
using System.Text;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>The gateway's own executable, SIGTERMed while a call that would never finish is in flight.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_with_a_hanging_call_in_flight_exits_within_the_shutdown_bound()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs SIGTERM");
        var ct = TestContext.Current.CancellationToken;
        await using var mock = await MockUpstreamServer.StartAsync();
        var config = MockBackedConfig.Create(mock.BaseAddress);

        // A provider that waits ten minutes for the upstream, so only the shutdown bound can end the call.
        await File.WriteAllTextAsync(Path.Combine(config, "slow.yaml"), $$"""
            providers:
              - { id: mockslow, type: openai, base_url: {{mock.BaseAddress.ToString().TrimEnd('/')}}, api_key_env: {{MockBackedConfig.KeyVariable}}, timeout_seconds: 600, priority: 5010, retry: { max_attempts: 1 } }
            models:
              - { name: mock-slow, provider: mockslow, provider_model: mock-small, context_window: 128000, max_output_tokens: 4096, capabilities: [chat], pricing: { input: 0, output: 0 } }
            """, ct);
        var http = GatewayFixture.FreePort();
        const int Bound = 3;
        var (process, output) = StartGateway(config, http, "shutdown", new() { ["LlmRouter__ShutdownTimeoutSeconds"] = Bound.ToString(CultureInfo.InvariantCulture) });
        using var owned = process;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = Timeout.InfiniteTimeSpan };
            client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
            await WaitReadyAsync(client, process, output, ct);

            // The mock holds this call for five minutes and the provider waits ten.
            var hanging = client.PostAsync(
                "/v1/chat/completions",
                new StringContent("""{"model":"mock-slow","messages":[{"role":"user","content":"[mock:slow] never answered"}]}""", Encoding.UTF8, "application/json"),
                ct);
            var waited = Stopwatch.StartNew();
            while (!mock.Requests.Any(r => r.Body.Contains("never answered", StringComparison.Ordinal)))
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "the call never reached the upstream");
                await Task.Delay(50, ct);
            }

            var stopping = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync(ct);
            }

            // Generous margin for a loaded machine; without the bound the process stayed up for the call's five minutes.
            var limit = TimeSpan.FromSeconds(Bound) + ShutdownOptions.ExitMargin + TimeSpan.FromSeconds(20);
            using var exitWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exitWait.CancelAfter(limit);
            await process.WaitForExitAsync(exitWait.Token);
            Assert.True(stopping.Elapsed < limit, $"stopped after {stopping.Elapsed}");
            Assert.Contains(process.ExitCode, new[] { 0, 3 });

            // The caller was not left hanging either: it got an answer or a closed connection.
            var outcome = await Task.WhenAny(hanging, Task.Delay(TimeSpan.FromSeconds(10), ct));
            Assert.Same(hanging, outcome);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public async Task Sigterm_turns_readiness_off_first_keeps_serving_for_the_drain_delay_then_exits_cleanly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs SIGTERM");
        var ct = TestContext.Current.CancellationToken;
        var http = GatewayFixture.FreePort();
        // A generous drain delay, so that a loaded machine still gets its two requests in before the stop proper.
        var (process, output) = StartGateway(Path.Combine(AppContext.BaseDirectory, "shipped-config"), http, "drain", new()
        {
            ["LlmRouter__ShutdownTimeoutSeconds"] = "5",
            ["LlmRouter__DrainDelaySeconds"] = "15",
        });
        using var owned = process;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
            await WaitReadyAsync(client, process, output, ct);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync(ct);
            }

            // Readiness turns first (a Service stops sending here) ...
            var waited = Stopwatch.StartNew();
            HttpResponseMessage ready;
            while ((ready = await client.GetAsync("/readyz", ct)).StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                ready.Dispose();
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "readiness never turned after SIGTERM");
                await Task.Delay(50, ct);
            }

            using (ready)
            {
                Assert.Contains("draining", await ready.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
            }

            // ... while a request that still arrives (a stale endpoint) is served.
            Assert.False(process.HasExited);
            using (var call = await client.PostAsync(
                "/v1/chat/completions",
                new StringContent("""{"model":"action:chat_small","max_tokens":20,"messages":[{"role":"user","content":"one more while draining"}]}""", Encoding.UTF8, "application/json"),
                ct))
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, call.StatusCode);
            }

            using var exitWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exitWait.CancelAfter(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(exitWait.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {output}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Starts the gateway (embedded role) as a child process on its own ports, with its output captured.</summary>
    private static (Process Process, ProcessOutput Output) StartGateway(string config, int http, string cluster, Dictionary<string, string> settings)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Orleans.LlmRouter.Host.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.Environment["LlmRouter__ConfigPath"] = config;
        info.Environment["LlmRouter__SiloPort"] = GatewayFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        info.Environment["LlmRouter__GatewayPort"] = GatewayFixture.FreePort().ToString(CultureInfo.InvariantCulture);
        info.Environment["LlmRouter__ClusterId"] = $"{cluster}-{Guid.NewGuid():N}";
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{http}";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in settings)
        {
            info.Environment[name] = value;
        }

        var output = new ProcessOutput();
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    private static async Task WaitReadyAsync(HttpClient client, Process process, ProcessOutput output, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            Assert.False(process.HasExited, "the gateway exited: " + output);
            try
            {
                using var ready = await client.GetAsync("/readyz", ct);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200, ct);
        }

        Assert.Fail("the gateway never became ready: " + output);
    }

    /// <summary>A child process's output lines, written by its reader threads while the test reads them.</summary>
    private sealed class ProcessOutput
    {
        private readonly StringBuilder _text = new();

        public void Add(string? line)
        {
            lock (_text)
            {
                _text.AppendLine(line);
            }
        }

        public override string ToString()
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }
}
