using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// Silos and a front end as separate operating-system processes (the gateway's own executable) on loopback ports,
/// with PostgreSQL clustering, grain storage and ledger. Each process logs to a file in <see cref="LogDirectory"/>.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _clusterId = "proc-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<Node> _nodes = [];

    public ProcessCluster(string connectionString)
    {
        _connectionString = connectionString;
        LogDirectory = Directory.CreateTempSubdirectory("llmrouter-cluster-").FullName;
    }

    public string LogDirectory { get; }

    public IReadOnlyList<Node> Silos => _nodes.Where(n => n.Role is "silo" or "all").ToList();

    public Node? FrontEnd => _nodes.FirstOrDefault(n => n.Role == "frontend");

    public string ClusterId => _clusterId;

    /// <summary>The configuration directory every node loads (default: the shipped <c>config/</c>).</summary>
    public string ConfigPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "shipped-config");

    /// <summary>
    /// Copies the shipped configuration to a new directory with <paramref name="edit"/> applied to each file's text, and
    /// makes it the one nodes load (e.g. a slower simulated provider, so calls are in flight when a silo dies).
    /// </summary>
    public string UseEditedConfig(Func<string, string, string> edit)
    {
        ArgumentNullException.ThrowIfNull(edit);
        var dir = Directory.CreateDirectory(Path.Combine(LogDirectory, "config")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
        {
            File.WriteAllText(Path.Combine(dir, Path.GetFileName(file)), edit(Path.GetFileName(file), File.ReadAllText(file)));
        }

        ConfigPath = dir;
        return dir;
    }

    /// <summary>
    /// A free loopback port never handed out before in this test run: a restarted cluster must not find one of its old
    /// silo addresses (still in the membership table) answered by a different process.
    /// </summary>
    /// <summary>
    /// Writes a child's output line to its log; a line that arrives after the log was closed (the reader threads can
    /// outlive the node) is dropped, never thrown on the reader's thread.
    /// </summary>
    private static void WriteLine(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>Starts several nodes at once and waits until all are ready (silos of a restarted cluster need each other).</summary>
    public Task<Node[]> StartManyAsync(string role, params string[] names) => Task.WhenAll(names.Select(n => StartAsync(role, n)));

    /// <summary>
    /// Starts one node: <paramref name="role"/> is <c>silo</c>, <c>frontend</c> or <c>all</c> (a silo with the HTTP
    /// front end co-hosted); <paramref name="environment"/> adds or overrides settings.
    /// </summary>
    public async Task<Node> StartAsync(string role, string name, IReadOnlyDictionary<string, string>? environment = null)
    {
        var http = FreePort();
        var siloPort = FreePort();
        var env = new Dictionary<string, string>
        {
            ["LlmRouter__Role"] = role,
            ["LlmRouter__Storage"] = "postgres",
            ["LlmRouter__Clustering"] = "postgres",
            ["LlmRouter__Postgres"] = _connectionString,
            ["LlmRouter__ClusterId"] = _clusterId,
            ["LlmRouter__ConfigPath"] = ConfigPath,
            ["LlmRouter__SpoolDirectory"] = Path.Combine(LogDirectory, "spool"),
            ["LlmRouter__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LlmRouter__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LlmRouter__ShutdownTimeoutSeconds"] = "10",
            ["LlmRouter__FastMembership"] = "true",
            ["LlmRouter__AllowDevKeys"] = "true", // insecure opt-in: the tests use the shipped dev tenant's key
            ["LlmRouter__AllowSimulated"] = "true",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{http}",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Orleans.LlmRouter"] = "Information",
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }

        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Orleans.LlmRouter.Host.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var (k, v) in env)
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info)!;
        var log = new StreamWriter(Path.Combine(LogDirectory, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => WriteLine(log, e.Data);
        process.ErrorDataReceived += (_, e) => WriteLine(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new Node(name, role, process, new Uri($"http://127.0.0.1:{http}"), log, Path.Combine(LogDirectory, name + ".log")) { SiloPort = siloPort };
        lock (_nodes)
        {
            _nodes.Add(node);
        }

        await node.WaitReadyAsync(TimeSpan.FromSeconds(90));
        return node;
    }

    /// <summary>SIGKILL: no shutdown, no flush.</summary>
    public static void Kill(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        node.Process.Kill(entireProcessTree: true);
        node.Process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: returns the exit code once the node has drained and exited.</summary>
    public static async Task<int> TerminateAsync(Node node, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(node);
        using (var kill = Process.Start("kill", ["-TERM", node.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await node.Process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{node.Name} did not exit within {timeout} of SIGTERM. Last lines:\n{node.LogTail(40)}");
        }

        return node.Process.ExitCode;
    }

    /// <summary>Stops every node gracefully (SIGTERM), front end first.</summary>
    public async Task StopAllAsync()
    {
        foreach (var node in _nodes.OrderBy(n => n.Role == "frontend" ? 0 : 1).Where(n => !n.Process.HasExited))
        {
            Process.Start("kill", ["-TERM", node.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        }

        foreach (var node in _nodes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await node.Process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                node.Process.Kill(entireProcessTree: true);
            }
        }

        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        _nodes.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Where(n => !n.Process.HasExited))
        {
            node.Process.Kill(entireProcessTree: true);
        }

        await StopAllAsync();
    }

    public sealed class Node(string name, string role, Process process, Uri baseAddress, StreamWriter log, string logPath) : IDisposable
    {
        public string Name { get; } = name;

        public string Role { get; } = role;

        public Process Process { get; } = process;

        public Uri BaseAddress { get; } = baseAddress;

        /// <summary>The silo-to-silo port (meaningless for a front end).</summary>
        public int SiloPort { get; init; }

        public HttpClient Client(string? bearer = null)
        {
            var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            if (bearer is not null)
            {
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            return client;
        }

        public async Task WaitReadyAsync(TimeSpan timeout)
        {
            using var client = Client();
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (Process.HasExited)
                {
                    await Process.WaitForExitAsync(); // drains the redirected output into the log
                    throw new InvalidOperationException($"{Name} exited with code {Process.ExitCode} before it was ready. Last lines of {logPath}:\n{LogTail(40)}");
                }

                try
                {
                    using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
                    if (ready.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(250);
            }

            throw new TimeoutException($"{Name} was not ready within {timeout}. Last lines of {logPath}:\n{LogTail(40)}");
        }

        /// <summary>The last lines this node wrote (for failure messages).</summary>
        public string LogTail(int lines)
        {
            using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }

        public void Dispose()
        {
            Process.Dispose();
            lock (log)
            {
                log.Dispose();
            }
        }
    }
}
