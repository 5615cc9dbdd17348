using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Client;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Mcp;

/// <summary>
/// A real embedded gateway (silo + Kestrel on loopback, in-memory ledger, a fake router clock) in front of two MCP
/// servers built with the SDK on loopback: <see cref="Healthy"/> (needs a bearer key, given to the gateway through an
/// environment variable) and <see cref="Flaky"/> (fails, stalls or answers garbage on demand). The catalog names them
/// several times with different governance (see <c>mcp.yaml</c> below); each test uses its own tenant.
/// <see cref="McpFrontEndFixture"/> is the other hosting shape: a silo-only gateway and a front end reaching it as an
/// Orleans client, <c>/mcp</c> on the front end.
/// </summary>
public class McpGatewayFixture : IAsyncLifetime
{
    public const string UpstreamKeyVariable = "LLMROUTER_TEST_MCP_FILES_KEY";
    public const string UpstreamKey = "sk-upstream-MCP-secret-7d1e";
    public const string AdminKey = "sk-mcp-operator-key";

    private WebApplication? _app;
    private WebApplication? _frontEnd;
    private string? _configDir;

    /// <summary>True for the separate front end shape.</summary>
    protected virtual bool SeparateFrontEnd => false;

    public UpstreamMcpServer Healthy { get; private set; } = null!;

    public UpstreamMcpServer Flaky { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The silo's services (its in-memory ledger).</summary>
    public IServiceProvider Services => _app!.Services;

    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The key of tenant <c>t-&lt;name&gt;</c>.</summary>
    public static string KeyOf(string name) => "sk-mcp-" + name;

    private static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async ValueTask InitializeAsync()
    {
        Environment.SetEnvironmentVariable(UpstreamKeyVariable, UpstreamKey);
        Healthy = await UpstreamMcpServer.StartAsync(UpstreamKey);
        Flaky = await UpstreamMcpServer.StartAsync(requiredKey: null);
        var dir = _configDir = Directory.CreateTempSubdirectory("llmrouter-mcp-config-").FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        // The simulated models wait on the router's clock, which is fake here: no simulated latency, so the model
        // turns of /v1/responses calls with mcp tools (ResponsesMcpToolTests) answer without the clock moving.
        var providers = Path.Combine(dir, "providers.yaml");
        var text = File.ReadAllText(providers);
        var instant = System.Text.RegularExpressions.Regex.Replace(text, @"\b(latency_ms|time_to_first_token_ms|chunk_delay_ms): *\d+", "$1: 0");
        File.WriteAllText(providers, instant != text ? instant : throw new InvalidOperationException("The shipped simulated provider has no latency options to zero; update McpGatewayFixture."));

        string Tenant(string name, string extra = "") => $$"""
              - id: t-{{name}}
                key_hashes: ["{{Hash(KeyOf(name))}}"]
            {{extra}}
            """;
        File.WriteAllText(Path.Combine(dir, "mcp.yaml"), $$"""
            mcp_servers:
              - id: files
                url: {{Healthy.Endpoint}}
                api_key_env: {{UpstreamKeyVariable}}
                timeout_seconds: 10
                pricing: { per_call: 0.01, tools: { add: 0 } }
              - id: flaky
                url: {{Flaky.Endpoint}}
                timeout_seconds: 4
                circuit_breaker: { failure_ratio: 0.5, minimum_calls: 2, window_seconds: 60, break_seconds: 30 }
              - id: faults
                url: {{Flaky.Endpoint}}
                timeout_seconds: 4
                circuit_breaker: { failure_ratio: 0.99, minimum_calls: 1000 }
                pricing: { per_call: 0.5 }
              - id: paced
                url: {{Healthy.Endpoint}}
                api_key_env: {{UpstreamKeyVariable}}
                limits: { rpm: 2 }
              - id: toggled
                url: {{Healthy.Endpoint}}
                api_key_env: {{UpstreamKeyVariable}}
              - id: offline
                url: http://127.0.0.1:{{GatewayFixture.FreePort()}}/mcp
                timeout_seconds: 10
                pricing: { per_call: 1 }
              - id: nokey
                url: {{Healthy.Endpoint}}
                api_key_env: LLMROUTER_TEST_MCP_UNSET_KEY
            tenants:
            {{Tenant("forward")}}
            {{Tenant("narrow", "    mcp: { servers: [files, paced], tools: [files__echo, paced__*] }")}}
            {{Tenant("poor", "    budgets: { usd: { lifetime: 0.015 } }")}}
            {{Tenant("faults", "    mcp: { servers: [faults] }")}}
            {{Tenant("breaker", "    mcp: { servers: [flaky] }")}}
            {{Tenant("rpm", "    mcp: { servers: [paced] }")}}
            {{Tenant("admin", "    mcp: { servers: [toggled] }")}}
            {{Tenant("offline", "    mcp: { servers: [offline] }")}}
            {{Tenant("loop")}}
            {{Tenant("loopdeny")}}
            {{Tenant("loopapprove")}}
            {{Tenant("loopfilter")}}
            {{Tenant("loopfaults", "    mcp: { servers: [faults] }")}}
            {{Tenant("loopnarrow", "    mcp: { servers: [files], tools: [files__echo] }")}}
            {{Tenant("looppoor", "    budgets: { usd: { lifetime: 0.005 } }")}}
            """);
        string[] common =
        [
            "--urls", "http://127.0.0.1:0",
            $"--LlmRouter:ConfigPath={dir}",
            $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}",
            $"--LlmRouter:ClusterId=mcp-{Guid.NewGuid():N}",
            $"--LlmRouter:AdminKeyHash={Hash(AdminKey)}",
            "--Logging:LogLevel:Default=Warning",
        ];
        void Configure(WebApplicationBuilder builder)
        {
            builder.Services.AddSingleton(new RouterClock(Clock));
            builder.Logging.AddProvider(Logs);
            builder.Logging.AddFilter<CapturingLoggerProvider>("Orleans.LlmRouter", LogLevel.Debug);
            builder.Logging.AddFilter<CapturingLoggerProvider>("System.Net.Http", LogLevel.Trace);
        }

        if (!SeparateFrontEnd)
        {
            _app = GatewayHost.Build([.. common, $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"], Configure);
            await _app.StartAsync();
            BaseAddress = new Uri(_app.Urls.First());
            return;
        }

        // Not the embedded mode: the shipped dev keys and simulated models are opt-in.
        string[] separate = ["--LlmRouter:AllowDevKeys=true", "--LlmRouter:AllowSimulated=true"];
        _app = GatewayHost.Build([.. common, .. separate, "--LlmRouter:Role=silo", $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"], Configure);
        await _app.StartAsync();
        _frontEnd = GatewayHost.Build([.. common, .. separate, "--LlmRouter:Role=frontend"], Configure);
        await _frontEnd.StartAsync();
        BaseAddress = new Uri(_frontEnd.Urls.First());
    }

    /// <summary>An MCP client of the official SDK connected to the gateway's <c>/mcp</c> with <paramref name="key"/>.</summary>
    public Task<McpClient> ConnectAsync(string key) => ConnectAsync(BaseAddress, key);

    public static async Task<McpClient> ConnectAsync(Uri baseAddress, string key) =>
        await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(baseAddress, "/mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            }),
            cancellationToken: TestContext.Current.CancellationToken);

    public HttpClient Http(string key)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        foreach (var app in new[] { _frontEnd, _app })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }

        await Healthy.DisposeAsync();
        await Flaky.DisposeAsync();
        if (_configDir is not null)
        {
            Directory.Delete(_configDir, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class McpGatewayCollection : ICollectionFixture<McpGatewayFixture>
{
    public const string Name = "mcp-gateway";
}

/// <summary><see cref="McpGatewayFixture"/> in the separate shape: <c>/mcp</c> on a front end that is an Orleans client of a silo-only gateway.</summary>
public sealed class McpFrontEndFixture : McpGatewayFixture
{
    protected override bool SeparateFrontEnd => true;
}

[CollectionDefinition(Name)]
public sealed class McpFrontEndCollection : ICollectionFixture<McpFrontEndFixture>
{
    public const string Name = "mcp-frontend";
}
