using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;

namespace Orleans.LlmRouter.Core.Tests.Pricing;

/// <summary>
/// The pricing rules, each against a cost worked out by hand (USD per 1M tokens, so a count times a price is
/// micro-dollars; the comment under each case shows the sum). No expected value is computed by the calculator.
/// </summary>
public sealed class CostCalculatorTests
{
    // Every price distinct, so a token billed at the wrong price changes the total.
    private static readonly ModelPricing Full = new(Input: 3m, Output: 15m, CachedInput: 0.30m, CacheWrite: 3.75m, CacheWrite1h: 6m, Reasoning: 20m);

    private static readonly ModelPricing InputOutputOnly = new(Input: 2m, Output: 8m);

    [Fact]
    public void Every_kind_of_token_is_billed_at_its_own_price()
    {
        // prompt 10 000 = 3 000 uncached + 4 000 cache reads + 3 000 cache writes (2 000 five-minute, 1 000 one-hour);
        // completion 2 000 = 1 500 output + 500 reasoning.
        // 3000*3 + 4000*0.30 + 2000*3.75 + 1000*6 + 1500*15 + 500*20
        // = 9000 + 1200 + 7500 + 6000 + 22500 + 10000 = 56 200 µ$ = 0.0562
        Assert.Equal(0.0562m, CostCalculator.Cost(Full, new BilledTokens(10_000, 2_000, Cached: 4_000, CacheWrite: 3_000, CacheWrite1h: 1_000, Reasoning: 500)));
    }

    [Fact]
    public void Uncached_prompt_tokens_are_billed_at_the_input_price_and_completion_at_the_output_price()
    {
        // 1000*3 + 100*15 = 3000 + 1500 = 4500 µ$
        Assert.Equal(0.0045m, CostCalculator.Cost(Full, new BilledTokens(1_000, 100)));
    }

    [Fact]
    public void Cache_reads_are_billed_at_the_cached_price_or_else_the_input_price()
    {
        // Full: 200 uncached*3 + 800 cached*0.30 = 600 + 240 = 840 µ$
        Assert.Equal(0.00084m, CostCalculator.Cost(Full, new BilledTokens(1_000, 0, Cached: 800)));

        // no cached price: 1000*2 = 2000 µ$
        Assert.Equal(0.002m, CostCalculator.Cost(InputOutputOnly, new BilledTokens(1_000, 0, Cached: 800)));
    }

    [Fact]
    public void Five_minute_cache_writes_are_billed_at_the_cache_write_price_or_else_the_input_price()
    {
        // Full: 400 uncached*3 + 600 writes*3.75 = 1200 + 2250 = 3450 µ$
        Assert.Equal(0.00345m, CostCalculator.Cost(Full, new BilledTokens(1_000, 0, CacheWrite: 600)));

        // no cache-write price: 1000*2 = 2000 µ$
        Assert.Equal(0.002m, CostCalculator.Cost(InputOutputOnly, new BilledTokens(1_000, 0, CacheWrite: 600)));
    }

    [Fact]
    public void One_hour_cache_writes_are_billed_at_the_one_hour_price_else_the_cache_write_price_else_the_input_price()
    {
        var tokens = new BilledTokens(1_000, 0, CacheWrite: 600, CacheWrite1h: 600);

        // 400*3 + 600*6 = 1200 + 3600 = 4800 µ$
        Assert.Equal(0.0048m, CostCalculator.Cost(Full, tokens));

        // no 1h price: 400*3 + 600*3.75 = 1200 + 2250 = 3450 µ$
        Assert.Equal(0.00345m, CostCalculator.Cost(Full with { CacheWrite1h = null }, tokens));

        // no cache-write price at all: 1000*3 = 3000 µ$
        Assert.Equal(0.003m, CostCalculator.Cost(Full with { CacheWrite = null, CacheWrite1h = null }, tokens));

        // a 1h price without a 5-minute one: 400*3 + 600*6 = 4800 µ$
        Assert.Equal(0.0048m, CostCalculator.Cost(Full with { CacheWrite = null }, tokens));
    }

    [Fact]
    public void Reasoning_tokens_are_billed_at_the_reasoning_price_or_else_the_output_price()
    {
        // 300 output*15 + 700 reasoning*20 = 4500 + 14000 = 18 500 µ$
        Assert.Equal(0.0185m, CostCalculator.Cost(Full, new BilledTokens(0, 1_000, Reasoning: 700)));

        // no reasoning price: 1000*15 = 15 000 µ$
        Assert.Equal(0.015m, CostCalculator.Cost(Full with { Reasoning = null }, new BilledTokens(0, 1_000, Reasoning: 700)));
    }

    private static readonly ModelPricing Tiered = new ModelPricing(Input: 1m, Output: 10m, CachedInput: 0.1m, CacheWrite: 1.25m, CacheWrite1h: 2m, Reasoning: 12m)
    {
        LongContext =
        [
            new LongContextPricing(200_000, Input: 2m, Output: 15m, CachedInput: 0.2m, CacheWrite: 2.5m, CacheWrite1h: 4m, Reasoning: 18m),
            new LongContextPricing(500_000, Input: 4m, Output: 30m, CachedInput: 0.4m, CacheWrite: 5m, CacheWrite1h: 8m, Reasoning: 36m),
        ],
    };

    [Fact]
    public void The_tier_is_chosen_by_the_whole_prompt_including_cache_reads_and_writes()
    {
        // prompt 250 000 = 100 000 uncached + 100 000 cached + 50 000 written (5m): above 200k, so the first tier,
        // though the uncached part alone is below it.
        // 100000*2 + 100000*0.2 + 50000*2.5 + 1000*15 = 200000 + 20000 + 125000 + 15000 = 360 000 µ$
        Assert.Equal(0.36m, CostCalculator.Cost(Tiered, new BilledTokens(250_000, 1_000, Cached: 100_000, CacheWrite: 50_000)));
    }

    [Fact]
    public void A_tier_applies_above_its_threshold_not_at_it()
    {
        // exactly 200 000: base prices. 200000*1 + 1000*10 = 210 000 µ$
        Assert.Equal(0.21m, CostCalculator.Cost(Tiered, new BilledTokens(200_000, 1_000)));

        // 200 001: first tier. 200001*2 + 1000*15 = 400002 + 15000 = 415 002 µ$
        Assert.Equal(0.415002m, CostCalculator.Cost(Tiered, new BilledTokens(200_001, 1_000)));
    }

    [Fact]
    public void The_highest_tier_the_prompt_is_above_applies_with_its_own_cache_and_reasoning_prices()
    {
        var tokens = new BilledTokens(600_000, 2_000, Cached: 300_000, CacheWrite: 200_000, CacheWrite1h: 50_000, Reasoning: 500);

        // second tier: 100000*4 + 300000*0.4 + 150000*5 + 50000*8 + 1500*30 + 500*36
        // = 400000 + 120000 + 750000 + 400000 + 45000 + 18000 = 1 733 000 µ$
        Assert.Equal(1.733m, CostCalculator.Cost(Tiered, tokens));

        // the tiers listed out of order choose the same one
        var reversed = Tiered with { LongContext = [.. Tiered.LongContext.Reverse()] };
        Assert.Equal(1.733m, CostCalculator.Cost(reversed, tokens));
    }

    [Fact]
    public void Inside_a_tier_unset_prices_fall_back_to_the_tier_prices_not_the_base_ones()
    {
        var pricing = new ModelPricing(Input: 1m, Output: 10m, CachedInput: 0.1m) { LongContext = [new LongContextPricing(1_000, Input: 2m, Output: 15m)] };

        // 2000 prompt (1500 cached) above 1000: the tier has no cached price, so all at the tier input.
        // 2000*2 + 100*15 = 4000 + 1500 = 5500 µ$
        Assert.Equal(0.0055m, CostCalculator.Cost(pricing, new BilledTokens(2_000, 100, Cached: 1_500)));
    }

    [Fact]
    public void Inconsistent_counts_are_capped_so_no_token_is_billed_twice_or_negatively()
    {
        // cached 1 500 of a 1 000 prompt → 1 000 cached; writes then 0; 1h capped at writes; reasoning capped at completion.
        // 1000*0.30 + 100*20 = 300 + 2000 = 2300 µ$
        Assert.Equal(0.0023m, CostCalculator.Cost(Full, new BilledTokens(1_000, 100, Cached: 1_500, CacheWrite: 500, CacheWrite1h: 900, Reasoning: 400)));

        // 1h above the writes: 200 writes all 1h. 800*3 + 200*6 = 2400 + 1200 = 3600 µ$
        Assert.Equal(0.0036m, CostCalculator.Cost(Full, new BilledTokens(1_000, 0, CacheWrite: 200, CacheWrite1h: 900)));

        Assert.Equal(0m, CostCalculator.Cost(Full, new BilledTokens(-5, -5, -5, -5, -5, -5)));
    }

    [Fact]
    public void The_count_overload_prices_like_the_billed_tokens_one()
    {
        // 1000 prompt, 200 cached, 500 completion: 800*3 + 200*0.30 + 500*15 = 2400 + 60 + 7500 = 9960 µ$
        Assert.Equal(0.00996m, CostCalculator.Cost(Full, 1_000, 500, 200));

        // and picks the tier by the prompt: 250000*2 + 10*15 = 500000 + 150 = 500 150 µ$
        Assert.Equal(0.50015m, CostCalculator.Cost(Tiered, 250_000, 10));
    }

    [Fact]
    public void The_estimate_is_the_worst_case_every_prompt_token_at_the_dearest_input_side_price_and_all_output_at_the_dearer_output_price()
    {
        // Full, a request that may write the cache: dearest prompt-side price is the 1h write (6), dearer of
        // output 15 / reasoning 20 is 20. 1000*6 + 500*20 = 6000 + 10000 = 16 000 µ$
        Assert.Equal(0.016m, CostCalculator.Estimate(Full, 1_000, 500, mayWriteCache: true));

        // Full, a request that cannot write the cache: the prompt at input (3). 1000*3 + 500*20 = 3000 + 10000 = 13 000 µ$
        Assert.Equal(0.013m, CostCalculator.Estimate(Full, 1_000, 500));

        // input and output only: 1000*2 + 500*8 = 2000 + 4000 = 6000 µ$
        Assert.Equal(0.006m, CostCalculator.Estimate(InputOutputOnly, 1_000, 500));

        // above a tier: 300000*4 (tier 1h write) + 100*18 (tier reasoning) = 1 200 000 + 1800 = 1 201 800 µ$
        Assert.Equal(1.2018m, CostCalculator.Estimate(Tiered, 300_000, 100, mayWriteCache: true));

        // the estimate is never below what any split of the same call costs
        var actual = CostCalculator.Cost(Full, new BilledTokens(1_000, 500, CacheWrite: 1_000, CacheWrite1h: 1_000, Reasoning: 500));
        Assert.Equal(0.016m, actual); // 1000*6 + 500*20
    }
}
