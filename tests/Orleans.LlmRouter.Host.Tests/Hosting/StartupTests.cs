using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

[Collection(ConsoleCaptureCollection.Name)]
public sealed class StartupTests
{
    [Fact]
    public async Task A_bad_config_stops_startup_with_every_error_and_exit_code_2()
    {
        var dir = Directory.CreateTempSubdirectory("llmrouter-badconfig-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "bad.yaml"), """
                providers:
                  - id: p1
                    type: nonsense
                models:
                  - name: m1
                    provider: p1
                    provider_model: x
                    capabilities: [chat]
                    context_window: 1000
                    max_output_tokens: 100
                    pricing: { input: -1, output: 1 }
                actions:
                  - name: a1
                    strategies:
                      quality: [m1, ghost]
                """, TestContext.Current.CancellationToken);

            var stderr = new StringWriter();
            var original = Console.Error;
            Console.SetError(stderr);
            int exit;
            try
            {
                exit = await GatewayHost.RunAsync([$"--LlmRouter:ConfigPath={dir.FullName}", "--urls", "http://127.0.0.1:0"]);
            }
            finally
            {
                Console.SetError(original);
            }

            Assert.Equal(2, exit);
            var text = stderr.ToString();
            Assert.Contains("bad.yaml:3:", text, StringComparison.Ordinal); // unknown provider type, at the provider
            Assert.Contains("unknown type 'nonsense'", text, StringComparison.Ordinal);
            Assert.Contains("must not be negative", text, StringComparison.Ordinal);
            Assert.Contains("no 'default' strategy", text, StringComparison.Ordinal);
            Assert.Contains("unknown model 'ghost'", text, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("LlmRouter:Storage", "sqlite")]
    [InlineData("LlmRouter:Role", "worker")]
    [InlineData("LlmRouter:SiloPort", "abc")]
    [InlineData("LlmRouter:Membership:NumVotesForDeathDeclaration", "0")]
    [InlineData("LlmRouter:ShutdownTimeoutSeconds", "0")]
    [InlineData("LlmRouter:ShutdownTimeoutSeconds", "soon")]
    [InlineData("LlmRouter:DrainDelaySeconds", "-1")]
    [InlineData("LlmRouter:DrainDelaySeconds", "301")]
    public async Task A_bad_setting_stops_startup_naming_its_key_with_exit_code_2(string key, string value)
    {
        var stderr = new StringWriter();
        var original = Console.Error;
        Console.SetError(stderr);
        int exit;
        try
        {
            exit = await GatewayHost.RunAsync([$"--LlmRouter:ConfigPath={Path.Combine(AppContext.BaseDirectory, "shipped-config")}", $"--{key}={value}", "--urls", "http://127.0.0.1:0"]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(2, exit);
        Assert.Contains(key, stderr.ToString(), StringComparison.Ordinal);
    }
}
