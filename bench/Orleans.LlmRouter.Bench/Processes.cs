using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Orleans.LlmRouter.Bench;

/// <summary>A process the harness started (mock, proxy, gateway); killed with its tree on dispose.</summary>
internal sealed class Service : IDisposable
{
    private Service(string name, Process process, Uri address, IReadOnlyDictionary<string, string> headers)
    {
        Name = name;
        Process = process;
        Address = address;
        Headers = headers;
    }

    public string Name { get; }

    public Process Process { get; }

    public Uri Address { get; }

    /// <summary>Extra request headers this target needs (Portkey's provider and custom host).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

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
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Task<Service> StartAsync(string name, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, Uri address, string readyPath, string logDir) =>
        StartProgramAsync(name, "dotnet", [dll, .. args], Path.GetDirectoryName(dll)!, env, address, readyPath, logDir, new Dictionary<string, string>());

    public static async Task<Service> StartProgramAsync(string name, string program, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> env, Uri address, string readyPath, string logDir, IReadOnlyDictionary<string, string> headers)
    {
        var info = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.Environment["DOTNET_gcServer"] = "1";
        foreach (var (k, v) in env)
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + name);
        var log = new StreamWriter(Path.Combine(logDir, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => WriteLine(log, e.Data);
        process.ErrorDataReceived += (_, e) => WriteLine(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var service = new Service(name, process, address, headers);
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode}; see {Path.Combine(logDir, name + ".log")}");
            }

            try
            {
                using var r = await client.GetAsync(new Uri(readyPath, UriKind.Relative));
                if (r.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        service.Dispose();
        throw new TimeoutException($"{name} was not ready in 90 s");
    }

    /// <summary>CPU time the process has used so far (user + system, all threads).</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            Process.Refresh();
            return Process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Resident memory now and at its peak, in MB, from /proc.</summary>
    public (double Rss, double Peak) Memory()
    {
        try
        {
            var status = File.ReadAllLines($"/proc/{Process.Id}/status");
            double Kb(string key) => double.Parse(status.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return (Kb("VmRSS") / 1024, Kb("VmHWM") / 1024);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }

    /// <summary>
    /// Time the process's threads have spent runnable but waiting for a CPU, summed over its live threads
    /// (<c>/proc/PID/task/*/schedstat</c>, second field): on a shared machine, how much of a delay is the scheduler's.
    /// </summary>
    public TimeSpan RunQueueWait() => RunQueueWait(Process.Id);

    public static TimeSpan RunQueueWait(int pid)
    {
        long ns = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var fields = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                    ns += long.Parse(fields[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // the thread ended meanwhile
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return TimeSpan.FromTicks(ns / 100);
    }

    /// <summary>Threads and open sockets of the process now, from /proc (a socket is an fd linked to <c>socket:[inode]</c>).</summary>
    public (int Threads, int Sockets) Handles()
    {
        try
        {
            var threads = int.Parse(File.ReadAllLines($"/proc/{Process.Id}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal)).Split(':')[1].Trim(), CultureInfo.InvariantCulture);
            var sockets = 0;
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{Process.Id}/fd"))
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal))
                {
                    sockets++;
                }
            }

            return (threads, sockets);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }
}
