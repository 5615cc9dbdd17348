using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>
/// A gateway in one of the two hosting shapes — embedded (one process: silo and HTTP) or a silo-only gateway plus a
/// front end reaching it as an Orleans client — on the mock upstream, with or without an OTLP exporter configured
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> pointing at an OTLP/HTTP sink on loopback that counts what it is sent). Started
/// and stopped by one test: an exporter's listener is process-wide, so it must not outlive the test that wants it.
/// </summary>
internal sealed class TraceShape : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private WebApplication? _sink;
    private string? _configDir;
    private int _exported;

    private TraceShape(bool frontEnd, bool exporter)
    {
        FrontEnd = frontEnd;
        Exporter = exporter;
        HttpLogs = frontEnd ? new CapturingLoggerProvider() : SiloLogs;
    }

    public bool FrontEnd { get; }

    public bool Exporter { get; }

    public MockUpstreamServer Mock { get; private set; } = null!;

    /// <summary>A client that sends only the trace headers a test gives it (no propagator of the test process's own).</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>The log lines of the process that runs the router (the silo), with their scopes.</summary>
    public CapturingLoggerProvider SiloLogs { get; } = new();

    /// <summary>The log lines of the process that answers HTTP (the same as <see cref="SiloLogs"/> when embedded).</summary>
    public CapturingLoggerProvider HttpLogs { get; }

    /// <summary>The services of the process that runs the router (its ledger).</summary>
    public IServiceProvider SiloServices => _apps[0].Services;

    /// <summary>The silo's Orleans gateway port, for an app with its own Orleans client.</summary>
    public int GatewayPort { get; private set; }

    /// <summary>The cluster's id (its service id is the default, <c>llmrouter</c>).</summary>
    public string ClusterId { get; } = $"trace-{Guid.NewGuid():N}";

    /// <summary>OTLP export requests the sink received (traces and metrics).</summary>
    public int Exported => Volatile.Read(ref _exported);

    public static async Task<TraceShape> StartAsync(bool frontEnd, bool exporter)
    {
        var shape = new TraceShape(frontEnd, exporter);
        try
        {
            await shape.StartAsync();
        }
        catch
        {
            await shape.DisposeAsync();
            throw;
        }

        return shape;
    }

    public async Task<IReadOnlyList<LedgerRecord>> LedgerAsync()
    {
        var rows = new List<LedgerRecord>();
        await foreach (var row in SiloServices.GetRequiredService<ILedger>().ReadAfterAsync("dev", long.MinValue, TestContext.Current.CancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Stops the gateway processes (an exporter flushes what it holds to the sink), leaving the mock up.</summary>
    public async Task StopGatewayAsync()
    {
        for (var i = _apps.Count - 1; i >= 0; i--)
        {
            await _apps[i].StopAsync();
            await _apps[i].DisposeAsync();
        }

        _apps.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        await StopGatewayAsync();
        if (_sink is not null)
        {
            await _sink.StopAsync();
            await _sink.DisposeAsync();
        }

        if (Mock is not null)
        {
            await Mock.DisposeAsync();
        }

        if (_configDir is not null)
        {
            Directory.Delete(_configDir, recursive: true);
        }
    }

    private async Task StartAsync()
    {
        Mock = await MockUpstreamServer.StartAsync();
        _configDir = MockBackedConfig.Create(Mock.BaseAddress);
        var gatewayPort = GatewayPort = GatewayFixture.FreePort();
        List<string> common =
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={_configDir}",
            $"--LlmRouter:GatewayPort={gatewayPort}",
            $"--LlmRouter:ClusterId={ClusterId}",
            "--Logging:LogLevel:Default=Warning",
        ];
        if (Exporter)
        {
            var sink = WebApplication.CreateBuilder();
            sink.WebHost.UseUrls("http://127.0.0.1:0");
            sink.Logging.ClearProviders();
            _sink = sink.Build();
            _sink.MapPost("/{**path}", () =>
            {
                Interlocked.Increment(ref _exported);
                return Results.Ok();
            });
            await _sink.StartAsync();
            common.Add($"--OTEL_EXPORTER_OTLP_ENDPOINT={_sink.Urls.First()}");
            common.Add("--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf");
        }

        if (FrontEnd)
        {
            common.AddRange(["--LlmRouter:AllowDevKeys=true", "--LlmRouter:AllowSimulated=true"]); // not the embedded mode
            _apps.Add(GatewayHost.Build([.. common, "--LlmRouter:Role=silo", $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"], b => Capture(b, SiloLogs)));
            await _apps[0].StartAsync();
            _apps.Add(GatewayHost.Build([.. common, "--LlmRouter:Role=frontend"], b => Capture(b, HttpLogs)));
            await _apps[1].StartAsync();
        }
        else
        {
            _apps.Add(GatewayHost.Build([.. common, $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"], b => Capture(b, SiloLogs)));
            await _apps[0].StartAsync();
        }

        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = new Uri(_apps[^1].Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
    }

    private static void Capture(WebApplicationBuilder builder, CapturingLoggerProvider logs)
    {
        builder.Logging.AddProvider(logs);
        builder.Logging.AddFilter<CapturingLoggerProvider>("Orleans.LlmRouter", LogLevel.Debug);
        builder.Logging.AddFilter<CapturingLoggerProvider>("Microsoft.AspNetCore", LogLevel.Information);
    }
}
