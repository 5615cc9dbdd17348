using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

public sealed class DeploymentValidationTests
{
    private const string Providers = """
        providers:
          - { id: east, type: simulated }
          - { id: west, type: simulated, circuit_breaker: { minimum_calls: 4 } }
        models:
        """;

    private static string Model(string deployments, string extra = "") => Providers + $$"""

          - name: gpt
            capabilities: [chat]
            context_window: 1000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
        {{extra}}
            deployments:
        {{deployments}}
        """;

    private static CatalogLoadResult Load(string yaml) => new CatalogLoader(environment: _ => null).Load([("d.yaml", yaml)]);

    private static IReadOnlyList<ConfigError> Errors(string yaml) => Assert.Throws<ConfigurationException>(() => Load(yaml)).Errors;

    [Fact]
    public void A_model_with_deployments_loads_with_weights_limits_breakers_prices_and_its_balance()
    {
        var catalog = Load(Model("""
                  - { provider: east, provider_model: gpt-east, weight: 3, limits: { rpm: 60 } }
                  - { id: west-2, provider: west, provider_model: gpt-west, pricing: { input: 0.5, output: 1 }, circuit_breaker: { minimum_calls: 2 } }
            """, "    balance: least_busy")).Catalog;
        var gpt = catalog.Models["gpt"];

        Assert.Equal(BalanceStrategy.LeastBusy, gpt.Balance);
        Assert.Equal(["east", "west-2"], gpt.Deployments.Select(d => d.Id));
        Assert.Equal(3, gpt.Deployments[0].Weight);
        Assert.Equal(1, gpt.Deployments[1].Weight);
        Assert.Equal(new SourceLocation("d.yaml", 12, 9), gpt.Deployments[0].Location);
        Assert.Equal(("east", "gpt-east"), (gpt.Provider, gpt.ProviderModel)); // the first deployment

        var views = catalog.DeploymentsOf(gpt);
        Assert.Equal(2m, views[0].Pricing.Output);
        Assert.Equal(1m, views[1].Pricing.Output); // its own price
        Assert.Equal("gpt-west", views[1].ProviderModel);

        var east = catalog.ResolveScope("gpt@east")!;
        Assert.Equal(60, east.Limits.RequestsPerMinute);
        Assert.Equal(10, east.Breaker.MinimumCalls); // the provider's breaker settings when the deployment sets none
        var west = catalog.ResolveScope("gpt@west-2")!;
        Assert.Equal(2, west.Breaker.MinimumCalls);
        Assert.Equal("gpt@west-2", west.Id);
        Assert.Null(catalog.ResolveScope("gpt@west")); // scopes are named by deployment id
    }

    [Fact]
    public void A_model_without_deployments_keeps_the_single_provider_form()
    {
        var yaml = Providers + "\n  - { name: one, provider: east, provider_model: one-1, capabilities: [chat], context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }\n";
        var catalog = Load(yaml).Catalog;

        Assert.Empty(catalog.Models["one"].Deployments);
        Assert.Empty(catalog.DeploymentsOf(catalog.Models["one"]));
        Assert.Equal(BalanceStrategy.Weighted, catalog.Models["one"].Balance);
    }

    [Fact]
    public void An_unknown_provider_is_reported_at_its_deployment()
    {
        var error = Assert.Single(Errors(Model("""
                  - { provider: east, provider_model: a }
                  - { provider: north, provider_model: b }
            """)));

        Assert.Contains("deployment 'north' of model 'gpt' names unknown provider 'north'", error.Message, StringComparison.Ordinal);
        Assert.Equal(("d.yaml", 13), (error.Location.File, error.Location.Line));
    }

    [Fact]
    public void A_duplicate_deployment_id_is_reported()
    {
        var error = Assert.Single(Errors(Model("""
                  - { provider: east, provider_model: a }
                  - { provider: east, provider_model: b }
            """)));

        Assert.Contains("duplicate deployment 'east' of model 'gpt'", error.Message, StringComparison.Ordinal);
        Assert.Equal(13, error.Location.Line);
    }

    [Fact]
    public void Two_deployments_calling_the_same_provider_model_are_a_duplicate()
    {
        var error = Assert.Single(Errors(Model("""
                  - { id: one, provider: east, provider_model: a }
                  - { id: two, provider: east, provider_model: a }
            """)));

        Assert.Contains("'two' and 'one'", error.Message, StringComparison.Ordinal);
        Assert.Contains("both call 'a' on provider 'east'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("heavy")]
    public void A_non_positive_weight_is_reported(string weight)
    {
        var error = Assert.Single(Errors(Model($$"""
                  - { provider: east, provider_model: a, weight: {{weight}} }
            """)));

        Assert.Contains($"'weight' of deployment 'east' of model 'gpt' must be a positive whole number, not '{weight}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(12, error.Location.Line);
    }

    [Fact]
    public void An_unknown_balance_is_reported_with_the_known_ones()
    {
        var error = Assert.Single(Errors(Model("""
                  - { provider: east, provider_model: a }
            """, "    balance: round_robin")));

        Assert.Contains("unknown balance 'round_robin' of model 'gpt' (known: weighted, least_busy, lowest_latency, usage_based, cheapest)", error.Message, StringComparison.Ordinal);
        Assert.Equal(10, error.Location.Line);
    }

    [Fact]
    public void Provider_fields_beside_deployments_and_balance_without_them_are_reported()
    {
        var errors = Errors(Model("""
                  - { provider: east, provider_model: a }
            """, "    provider: east"));
        Assert.Contains(errors, e => e.Message.Contains("'provider' belongs in each deployment", StringComparison.Ordinal));

        var yaml = Providers + "\n  - { name: one, provider: east, provider_model: one-1, balance: cheapest, capabilities: [chat], context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }\n";
        Assert.Contains(Errors(yaml), e => e.Message.Contains("'balance' of model 'one' needs 'deployments'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_empty_deployment_list_is_reported()
    {
        var yaml = Providers + "\n  - { name: none, deployments: [], capabilities: [chat], context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }\n";

        Assert.Contains(Errors(yaml), e => e.Message.Contains("must list at least one deployment", StringComparison.Ordinal));
    }
}
