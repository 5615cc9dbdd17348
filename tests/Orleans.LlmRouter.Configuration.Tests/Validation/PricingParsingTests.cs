using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

/// <summary>The <c>pricing</c> block: every price key, long-context tiers as one mapping or a list, and their validation.</summary>
public sealed class PricingParsingTests
{
    private const string Base = """
        providers:
          - { id: sim, type: simulated }
        models:
          - name: m1
            provider: sim
            provider_model: m1-v1
            capabilities: [chat]
            context_window: 1000000
            max_output_tokens: 100
            pricing: PRICING
        actions:
          - name: a1
            requires: [chat]
            strategies:
              default: [m1]

        """;

    private static string With(string pricing) => Base.Replace("PRICING", pricing, StringComparison.Ordinal);

    private static ModelPricing Load(string pricing) =>
        new CatalogLoader(environment: _ => null).Load([("c.yaml", With(pricing))]).Catalog.Models["m1"].Pricing;

    private static ConfigError Single(string pricing) =>
        Assert.Single(Assert.Throws<ConfigurationException>(() => new CatalogLoader(environment: _ => null).Load([("c.yaml", With(pricing))])).Errors);

    [Fact]
    public void Every_price_key_is_read()
    {
        var p = Load("{ input: 3, output: 15, cached_input: 0.30, cache_write: 3.75, cache_write_1h: 6, reasoning: 20 }");
        Assert.Equal((3m, 15m, 0.30m, 3.75m, 6m, 20m), (p.Input, p.Output, p.CachedInput, p.CacheWrite, p.CacheWrite1h, p.Reasoning));
        Assert.Empty(p.LongContext);
    }

    [Fact]
    public void One_long_context_tier_may_be_a_mapping()
    {
        var p = Load("{ input: 3, output: 15, cached_input: 0.30, cache_write: 3.75, cache_write_1h: 6, long_context: { above_tokens: 200000, input: 6, output: 22.50, cached_input: 0.60, cache_write: 7.50, cache_write_1h: 12 } }");
        Assert.Equal([new LongContextPricing(200_000, 6m, 22.50m, 0.60m, 7.50m, 12m)], p.LongContext);
    }

    [Fact]
    public void Several_tiers_are_a_list_each_with_its_own_prices()
    {
        var p = Load("""

                  input: 1
                  output: 10
                  reasoning: 12
                  long_context:
                    - { above_tokens: 200000, input: 2, output: 15, reasoning: 18 }
                    - { above_tokens: 500000, input: 4, output: 30, reasoning: 36 }
            """);
        Assert.Equal([new LongContextPricing(200_000, 2m, 15m, Reasoning: 18m), new LongContextPricing(500_000, 4m, 30m, Reasoning: 36m)], p.LongContext);
    }

    [Theory]
    [InlineData("{ input: 1, output: 2, cache_write: -1 }", "'cache_write' of pricing of model 'm1' must not be negative")]
    [InlineData("{ input: 1, output: 2, cache_write_1h: -2 }", "'cache_write_1h' of pricing of model 'm1' must not be negative")]
    [InlineData("{ input: 1, output: 2, reasoning: -3 }", "'reasoning' of pricing of model 'm1' must not be negative")]
    [InlineData("{ input: 1, output: 2, long_context: { above_tokens: 10, input: -1, output: 2 } }", "'input' of long_context tier of pricing of model 'm1' must not be negative")]
    [InlineData("{ input: 1, output: 2, long_context: { above_tokens: 10, input: 1, output: 2, cache_write: -1 } }", "'cache_write' of long_context tier of pricing of model 'm1' must not be negative")]
    [InlineData("{ input: 1, output: 2, cache_wirte: 1 }", "unknown field 'cache_wirte' in pricing of model 'm1'")]
    [InlineData("{ input: 1, output: 2, long_context: { above_tokens: 10, input: 1, output: 2, cached: 1 } }", "unknown field 'cached' in long_context tier")]
    [InlineData("{ input: 1, output: 2, long_context: { input: 1, output: 2 } }", "long_context tier of pricing of model 'm1' is missing required field 'above_tokens'")]
    [InlineData("{ input: 1, output: 2, long_context: 5 }", "'long_context' of pricing of model 'm1' must be a mapping or a list of mappings")]
    public void Bad_prices_are_reported_with_their_line(string pricing, string message)
    {
        var error = Single(pricing);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(("c.yaml", 10), (error.Location.File, error.Location.Line));
    }

    [Fact]
    public void Tier_thresholds_must_strictly_increase()
    {
        var error = Single("""

                  input: 1
                  output: 10
                  long_context:
                    - { above_tokens: 500000, input: 4, output: 30 }
                    - { above_tokens: 500000, input: 2, output: 15 }
            """);
        Assert.Contains("must be above the previous tier's (500000 is not above 500000)", error.Message, StringComparison.Ordinal);
        Assert.Equal(15, error.Location.Line);
    }

    [Theory]
    [InlineData("cached_input: 0.1", "cached_input", "input")]
    [InlineData("cache_write: 1.25", "cache_write", "input")]
    [InlineData("cache_write_1h: 2", "cache_write_1h", "input")]
    [InlineData("reasoning: 12", "reasoning", "output")]
    public void A_tier_must_have_every_cache_and_reasoning_price_the_base_pricing_has(string basePrice, string key, string fallback)
    {
        var error = Single($"{{ input: 1, output: 10, {basePrice}, long_context: {{ above_tokens: 200000, input: 2, output: 15 }} }}");
        Assert.Equal($"long_context tier of pricing of model 'm1' is missing '{key}': the base pricing has one, and without it these tokens would be billed at the tier's {fallback} price", error.Message);
        Assert.Equal(10, error.Location.Line);
    }
}
