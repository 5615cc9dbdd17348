using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Host.Tests.ProviderTypes;

/// <summary>
/// The README's "Add a provider type" steps, proven: a type defined and registered only in this test project is
/// accepted by the catalog (YAML), gets its adapter built, and answers a chat completion through the HTTP surface,
/// streamed and not; without the registration the same YAML is an unknown type.
/// </summary>
public sealed class TestOnlyProviderTypeTests
{
    private const string Yaml = """
        providers:
          - id: echo
            type: echo_test
            priority: 9000
            options: { prefix: "echoed: " }
        models:
          - name: echo-model
            provider: echo
            provider_model: echo-1
            capabilities: [chat, streaming]
            context_window: 8000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string ConfigDir()
    {
        var dir = Directory.CreateTempSubdirectory("llmrouter-echo-").FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(dir, "echo.yaml"), Yaml);
        return dir;
    }

    private static string[] Args(string config) =>
    [
        "--urls", "http://127.0.0.1:0",
        $"--LlmRouter:ConfigPath={config}",
        $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}",
        $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}",
        $"--LlmRouter:ClusterId=echo-{Guid.NewGuid():N}",
        "--Logging:LogLevel:Default=Warning",
    ];

    [Fact]
    public async Task A_provider_type_registered_by_the_host_is_configured_in_yaml_and_called_through_http()
    {
        var config = ConfigDir();
        await using var app = GatewayHost.Build(Args(config), builder => builder.Services.AddLlmRouterProviderType(_ => new EchoProviderFactory()));
        await app.StartAsync(Ct);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);

            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "echo-model", messages = new[] { new { role = "user", content = "ping" } } }, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.Equal("echoed: ping", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(7, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("echo", response.Headers.GetValues("X-LlmRouter-Provider").Single());

            using var stream = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "echo-model", stream = true, messages = new[] { new { role = "user", content = "pong" } } }, Ct);
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            var sse = await stream.Content.ReadAsStringAsync(Ct);
            Assert.Contains("\"content\":\"echoed: \"", sse, StringComparison.Ordinal);
            Assert.Contains("\"content\":\"pong\"", sse, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", sse, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync(Ct);
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public void Without_its_registration_the_type_is_unknown_to_the_catalog()
    {
        var config = ConfigDir();
        try
        {
            var ex = Assert.Throws<ConfigurationException>(() => GatewayHost.Build(Args(config)));
            Assert.Contains("unknown type 'echo_test'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("azure_openai", ex.Message, StringComparison.Ordinal); // the known list is the registered types
            Assert.Contains("bedrock", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(config, recursive: true);
        }
    }

    [Fact]
    public void A_second_factory_claiming_a_registered_type_name_is_refused_and_a_repeated_registration_is_kept_once()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddLlmRouterProviderType(_ => new EchoProviderFactory());
        services.AddLlmRouterProviderType(_ => new EchoProviderFactory());
        Assert.Single(services.LlmRouterProviderTypes(), t => t.Name == "echo_test");
        Assert.Throws<InvalidOperationException>(() => services.AddLlmRouterProviderType(_ => new ImpostorFactory()));
    }

    private sealed class ImpostorFactory : IDescribedChatProviderFactory
    {
        public static ProviderTypeDescriptor Descriptor { get; } = new("echo_test");

        public string Type => Descriptor.Name;

        public IChatProvider Create(Orleans.LlmRouter.Core.Catalog.ProviderDefinition provider) => throw new NotSupportedException();
    }
}
