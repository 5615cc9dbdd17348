using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Routing;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

/// <summary>Model aliases (<c>aliases: [...]</c>): unique across names and aliases, resolved wherever a model is named.</summary>
public sealed class ModelAliasTests
{
    private const string Base = """
        providers:
          - { id: sim, type: simulated }
        models:
          - name: m1
            provider: sim
            provider_model: m1-v1
            capabilities: [chat]
            context_window: 1000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
            aliases: [claude-sonnet-4-5-20250929, gpt-5-codex]
          - name: m2
            provider: sim
            provider_model: m2-v1
            capabilities: [chat]
            context_window: 1000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }

        """;

    private static CatalogLoadResult Load(params (string File, string Text)[] files) =>
        new CatalogLoader(environment: _ => null).Load(files);

    private static ConfigError Single(params (string File, string Text)[] files) =>
        Assert.Single(Assert.Throws<ConfigurationException>(() => Load(files)).Errors);

    [Fact]
    public void An_alias_resolves_to_its_model_in_the_catalog_and_the_route_planner()
    {
        var catalog = Load(("c.yaml", Base)).Catalog;
        Assert.True(catalog.TryGetModel("gpt-5-codex", out var model));
        Assert.Equal("m1", model.Name);
        Assert.Equal(["claude-sonnet-4-5-20250929", "gpt-5-codex"], catalog.Models["m1"].Aliases);

        var plan = new RoutePlanner(catalog).Plan(new RouteQuery { Model = "claude-sonnet-4-5-20250929" });
        Assert.Equal("m1", Assert.Single(plan.Candidates).Model.Name);
    }

    [Fact]
    public void An_alias_that_is_a_model_name_is_an_error_at_the_alias()
    {
        var error = Single(("c.yaml", Base.Replace("aliases: [claude-sonnet-4-5-20250929, gpt-5-codex]", "aliases: [m2]", StringComparison.Ordinal)));
        Assert.Equal(("c.yaml", 11), (error.Location.File, error.Location.Line));
        Assert.Contains("alias 'm2' of model 'm1' is the name of a model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_alias_of_two_models_is_an_error_naming_both_even_across_files()
    {
        const string other = """
            models:
              - { name: m3, provider: sim, provider_model: m3-v1, capabilities: [chat], context_window: 1000, max_output_tokens: 100,
                  pricing: { input: 1, output: 2 }, aliases: [gpt-5-codex] }
            """;
        var error = Single(("c.yaml", Base), ("more.yaml", other));
        Assert.Equal(("more.yaml", 3), (error.Location.File, error.Location.Line));
        Assert.Contains("alias 'gpt-5-codex' of model 'm3' is already an alias of model 'm1'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[auto]", "reserved")]
    [InlineData("[\"action:x\"]", "reserved")]
    [InlineData("[\"bad name\"]", "characters outside")]
    [InlineData("[m1]", "listed twice")]
    public void A_reserved_malformed_or_repeated_alias_is_an_error(string aliases, string message)
    {
        var error = Single(("c.yaml", Base.Replace("[claude-sonnet-4-5-20250929, gpt-5-codex]", aliases, StringComparison.Ordinal)));
        Assert.Equal(11, error.Location.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_configuration_routes_the_default_model_ids_of_claude_code_and_codex()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "shipped-config");
        var catalog = new CatalogLoader(environment: _ => "set").LoadPath(dir).Catalog;
        foreach (var id in new[] { "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805", "gpt-5-codex" })
        {
            Assert.True(catalog.TryGetModel(id, out _), id);
        }
    }
}
