using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>
/// Outside the embedded mode the shipped (public) dev keys stop start-up and the simulated provider is off, unless the
/// explicit opt-ins are set; the embedded default keeps both with no setting.
/// </summary>
public sealed class SecureDefaultsTests
{
    private const string DevAdminHash = "sha256:3bbd2a43ba10dd4389e53cd5c54888d63aba64f9c49cc829b75ca2c68d4e7716";

    private static string ShippedConfig => Path.Combine(AppContext.BaseDirectory, "shipped-config");

    // A durable gateway refuses before it touches PostgreSQL: nothing listens on port 1.
    private static readonly string[] Durable = ["--LlmRouter:Storage=postgres", "--LlmRouter:Postgres=Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x"];

    private static async Task<(int Exit, string Stderr)> RunAsync(params string[] args)
    {
        var stderr = new StringWriter();
        var original = Console.Error;
        Console.SetError(stderr);
        try
        {
            var exit = await GatewayHost.RunAsync([$"--LlmRouter:ConfigPath={ShippedConfig}", "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. args]);
            return (exit, stderr.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }

    [Fact]
    public async Task A_durable_gateway_with_the_shipped_admin_and_tenant_keys_refuses_to_start_with_exit_code_2()
    {
        var (exit, stderr) = await RunAsync([.. Durable, $"--LlmRouter:AdminKeyHash={DevAdminHash}"]);
        Assert.Equal(2, exit);
        Assert.Contains("LlmRouter:AdminKeyHash", stderr, StringComparison.Ordinal);
        Assert.Contains("tenant 'dev' uses a shipped development key", stderr, StringComparison.Ordinal);
        Assert.Contains("tenant 'demo' uses a shipped development key", stderr, StringComparison.Ordinal);
        Assert.Contains("tenants.yaml:", stderr, StringComparison.Ordinal); // where the tenant is written
        Assert.Contains("LlmRouter:AllowDevKeys=true", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--LlmRouter:Clustering=postgres", "--LlmRouter:Postgres=Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x")]
    [InlineData("--LlmRouter:Role=silo", "--LlmRouter:Storage=memory")]
    [InlineData("--LlmRouter:Role=frontend", "--LlmRouter:Storage=memory")]
    public async Task Clustering_and_the_split_roles_are_not_the_embedded_mode_either(string first, string second)
    {
        var (exit, stderr) = await RunAsync(first, second, "--LlmRouter:AdminKeyHash=");
        Assert.Equal(2, exit);
        Assert.Contains("tenant 'dev' uses a shipped development key", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("LlmRouter:AdminKeyHash", stderr, StringComparison.Ordinal); // no admin key: the admin API is closed, which is safe
    }

    [Fact]
    public async Task With_the_opt_in_a_durable_gateway_builds_and_the_simulated_provider_is_off_unless_enabled()
    {
        await using (var app = GatewayHost.Build([$"--LlmRouter:ConfigPath={ShippedConfig}", .. Durable, $"--LlmRouter:AdminKeyHash={DevAdminHash}", "--LlmRouter:AllowDevKeys=true"]))
        {
            var simulated = app.Services.GetRequiredService<ModelCatalog>().Providers["simulated"];
            Assert.False(simulated.Enabled);
            Assert.Contains("LlmRouter:AllowSimulated=true", simulated.DisabledReason, StringComparison.Ordinal);
        }

        await using (var app = GatewayHost.Build([$"--LlmRouter:ConfigPath={ShippedConfig}", .. Durable, "--LlmRouter:AllowDevKeys=true", "--LlmRouter:AllowSimulated=true"]))
        {
            Assert.True(app.Services.GetRequiredService<ModelCatalog>().Providers["simulated"].Enabled);
        }
    }

    [Fact]
    public async Task The_embedded_default_keeps_the_dev_keys_and_the_simulated_provider_with_no_setting()
    {
        await using var app = GatewayHost.Build([$"--LlmRouter:ConfigPath={ShippedConfig}", $"--LlmRouter:AdminKeyHash={DevAdminHash}"]);
        Assert.True(app.Services.GetRequiredService<ModelCatalog>().Providers["simulated"].Enabled);
    }

    [Fact]
    public async Task A_silo_with_the_opt_in_starts_and_answers_ready()
    {
        await using var app = GatewayHost.Build(
        [
            $"--LlmRouter:ConfigPath={ShippedConfig}", "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            "--LlmRouter:Role=silo", "--LlmRouter:AllowDevKeys=true",
            $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}", $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}", $"--LlmRouter:ClusterId=secure-{Guid.NewGuid():N}",
        ]);
        await app.StartAsync(TestContext.Current.CancellationToken);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The real durable shape: PostgreSQL storage and clustering, the opt-in, schema applied by the caller.</summary>
    [Fact]
    public async Task A_durable_gateway_on_postgres_with_the_opt_in_starts()
    {
        var cs = Environment.GetEnvironmentVariable("LLMROUTER_POSTGRES");
        Assert.SkipWhen(string.IsNullOrEmpty(cs), "LLMROUTER_POSTGRES is not set (a PostgreSQL with deploy/sql applied)");
        await using var app = GatewayHost.Build(
        [
            $"--LlmRouter:ConfigPath={ShippedConfig}", "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            "--LlmRouter:Storage=postgres", "--LlmRouter:Clustering=postgres", $"--LlmRouter:Postgres={cs}", "--LlmRouter:AllowDevKeys=true",
            $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}", $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}", $"--LlmRouter:ClusterId=secure-{Guid.NewGuid():N}",
            $"--LlmRouter:SpoolDirectory={Directory.CreateTempSubdirectory("llmrouter-spool-").FullName}",
        ]);
        await app.StartAsync(TestContext.Current.CancellationToken);
        Assert.False(app.Services.GetRequiredService<ModelCatalog>().Providers["simulated"].Enabled);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Invalid_request_limits_stop_startup_with_exit_code_2()
    {
        var (exit, stderr) = await RunAsync("--LlmRouter:Limits:MaxMessages=0", $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}", $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}");
        Assert.Equal(2, exit);
        Assert.Contains("LlmRouter:Limits:MaxMessages must be at least 1", stderr, StringComparison.Ordinal);
    }
}
