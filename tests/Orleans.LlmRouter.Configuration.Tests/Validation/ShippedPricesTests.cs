using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

/// <summary>The shipped catalog's cache-write prices and long-context tiers (list prices, see config/models.yaml).</summary>
public sealed class ShippedPricesTests
{
    private static ModelPricing Shipped(string model) =>
        new CatalogLoader(environment: _ => null).LoadPath(Path.Combine(AppContext.BaseDirectory, "shipped-config")).Catalog.Models[model].Pricing;

    [Theory]
    [InlineData("claude-haiku-4-5", "1.25", "2.00")]
    [InlineData("claude-sonnet-4-5", "3.75", "6.00")]
    [InlineData("claude-sonnet-4-6", "3.75", "6.00")]
    [InlineData("claude-opus-4-6", "6.25", "10.00")]
    public void Anthropic_models_price_cache_writes_at_one_and_a_quarter_and_twice_the_input(string model, string write, string write1h)
    {
        var p = Shipped(model);
        Assert.Equal((decimal.Parse(write, System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(write1h, System.Globalization.CultureInfo.InvariantCulture)), (p.CacheWrite, p.CacheWrite1h));
        Assert.Equal(p.Input * 1.25m, p.CacheWrite);
        Assert.Equal(p.Input * 2m, p.CacheWrite1h);
    }

    [Fact]
    public void Long_context_tiers_carry_their_own_cache_prices()
    {
        Assert.Equal([new LongContextPricing(200_000, 6.00m, 22.50m, 0.60m, 7.50m, 12.00m)], Shipped("claude-sonnet-4-5").LongContext);
        Assert.Equal([new LongContextPricing(200_000, 2.50m, 15.00m, 0.25m)], Shipped("gemini-2.5-pro").LongContext);
    }

    [Theory]
    [InlineData("gpt-5")]
    [InlineData("o4-mini")]
    [InlineData("gemini-2.5-flash")]
    [InlineData("deepseek-reasoner")]
    public void Reasoning_models_bill_reasoning_at_the_output_price_and_have_no_write_price(string model)
    {
        var p = Shipped(model);
        Assert.Equal((null, null, null), (p.Reasoning, p.CacheWrite, p.CacheWrite1h));
    }
}
