using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

public sealed class ShippedConfigTests
{
    private static CatalogLoadResult LoadShipped(Func<string, string?>? environment = null) =>
        new CatalogLoader(environment: environment ?? (_ => null)).LoadPath(Path.Combine(AppContext.BaseDirectory, "shipped-config"));

    [Fact]
    public void A_config_map_volume_is_read_once_without_its_hidden_timestamped_copies()
    {
        // The layout kubelet gives a ConfigMap volume: name -> ..data/name, ..data -> ..2026_12_07_12_00_00.000000001/.
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "symbolic links");
        var root = Directory.CreateTempSubdirectory("configmap-").FullName;
        try
        {
            var version = Path.Combine(root, "..2026_12_07_12_00_00.000000001");
            Directory.CreateDirectory(version);
            foreach (var file in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "shipped-config"), "*.yaml"))
            {
                File.Copy(file, Path.Combine(version, Path.GetFileName(file)));
            }

            Directory.CreateSymbolicLink(Path.Combine(root, "..data"), version);
            foreach (var file in Directory.EnumerateFiles(version))
            {
                File.CreateSymbolicLink(Path.Combine(root, Path.GetFileName(file)), Path.Combine("..data", Path.GetFileName(file)));
            }

            var result = new CatalogLoader(environment: _ => null).LoadPath(root);
            Assert.Equal(LoadShipped().Catalog.Models.Count, result.Catalog.Models.Count);
            Assert.Equal(Directory.EnumerateFiles(version).Count(), result.Files.Count);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_shipped_config_is_valid_and_works_without_any_key()
    {
        var result = LoadShipped();
        var providers = result.Catalog.Providers;
        Assert.True(providers["simulated"].Enabled);
        foreach (var (id, variable) in new[] { ("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("deepseek", "DEEPSEEK_API_KEY") })
        {
            Assert.False(providers[id].Enabled);
            Assert.Contains(result.Notices, n => n.Contains(variable, StringComparison.Ordinal));
        }

        Assert.Equal(ProviderTypes.OpenAi, providers["deepseek"].Type); // OpenAI-compatible by base_url
    }

    [Fact]
    public void The_shipped_azure_and_bedrock_providers_are_off_until_configured_and_their_models_priced()
    {
        var result = LoadShipped(name => name is "AZURE_OPENAI_API_KEY" or "AWS_ACCESS_KEY_ID" ? "set" : null);
        Assert.Equal(("azure_openai", false), (result.Catalog.Providers["azure-openai"].Type, result.Catalog.Providers["azure-openai"].Enabled));
        Assert.Equal(("bedrock", false), (result.Catalog.Providers["bedrock"].Type, result.Catalog.Providers["bedrock"].Enabled));
        Assert.Equal("us-east-1", result.Catalog.Providers["bedrock"].Options["region"]);
        var sonnet = result.Catalog.Models["bedrock-claude-sonnet-4-5"];
        Assert.Equal((3.00m, 15.00m, 0.30m, 3.75m), (sonnet.Pricing.Input, sonnet.Pricing.Output, sonnet.Pricing.CachedInput!.Value, sonnet.Pricing.CacheWrite!.Value));
        Assert.Equal((2.50m, 10.00m), (result.Catalog.Models["azure-gpt-4o"].Pricing.Input, result.Catalog.Models["azure-gpt-4o"].Pricing.Output));
    }

    [Fact]
    public void A_key_in_the_environment_enables_its_provider()
    {
        var result = LoadShipped(name => name == "ANTHROPIC_API_KEY" ? "sk-ant-test" : null);
        Assert.True(result.Catalog.Providers["anthropic"].Enabled);
    }

    [Theory]
    [InlineData("video_analysis", new[] { "vision", "long_context" })]
    [InlineData("presentation_analysis", new[] { "vision", "structured_output" })]
    [InlineData("course_structuring", new[] { "structured_output" })]
    [InlineData("text_processing", new[] { "structured_output" })]
    [InlineData("chat_small", new[] { "chat" })]
    [InlineData("chat_smart", new[] { "chat" })]
    [InlineData("embedding", new[] { "embedding" })]
    public void The_seed_actions_exist_with_their_requirements_and_three_strategies(string action, string[] requires)
    {
        var a = LoadShipped().Catalog.Actions[action];
        Assert.Equal(requires.Order(StringComparer.Ordinal), a.Requires.Select(c => c.ToName()).Order(StringComparer.Ordinal));
        Assert.Equal(["budget", "default", "quality"], a.Strategies.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("gpt-4o", "2.50", "10.00", "1.25")]
    [InlineData("gpt-4o-mini", "0.15", "0.60", "0.075")]
    [InlineData("claude-sonnet-4-5", "3.00", "15.00", "0.30")]
    [InlineData("gemini-2.5-flash", "0.30", "2.50", "0.03")]
    [InlineData("deepseek-chat", "0.28", "0.42", "0.028")]
    public void Shipped_prices_are_the_list_prices(string model, string input, string output, string cached)
    {
        var p = LoadShipped().Catalog.Models[model].Pricing;
        Assert.Equal((decimal.Parse(input, System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(output, System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(cached, System.Globalization.CultureInfo.InvariantCulture)), (p.Input, p.Output, p.CachedInput!.Value));
    }

    [Fact]
    public void Every_model_of_the_five_providers_is_present()
    {
        var models = LoadShipped().Catalog.Models.Values;
        foreach (var provider in new[] { "openai", "anthropic", "gemini", "deepseek", "ollama", "simulated" })
        {
            Assert.Contains(models, m => m.Provider == provider);
        }

        Assert.Equal(0m, models.Single(m => m.Name == "llama3.2").Pricing.Input);
        Assert.Equal(200_000, models.Single(m => m.Name == "claude-sonnet-4-5").Pricing.LongContext[0].ThresholdTokens);
    }
}
