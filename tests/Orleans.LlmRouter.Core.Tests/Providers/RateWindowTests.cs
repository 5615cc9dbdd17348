using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;

namespace Orleans.LlmRouter.Core.Tests.Providers;

public sealed class RateWindowTests
{
    private static readonly DateTimeOffset Minute = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Grants_never_exceed_rpm_within_a_minute_and_reset_at_the_next()
    {
        var window = new RateWindow(new ProviderLimits(RequestsPerMinute: 10));
        Assert.Equal((4, 100L), window.Grant(Minute.AddSeconds(1), 4, 100));
        Assert.Equal((4, 100L), window.Grant(Minute.AddSeconds(30), 4, 100));
        Assert.Equal((2, 100L), window.Grant(Minute.AddSeconds(59), 4, 100));
        Assert.Equal((0, 0L), window.Grant(Minute.AddSeconds(59), 4, 100));
        Assert.Equal((4, 100L), window.Grant(Minute.AddSeconds(60), 4, 100));
        Assert.Equal(Minute.AddMinutes(2), RateWindow.WindowEnd(Minute.AddSeconds(61)));
    }

    [Fact]
    public void Tokens_are_granted_up_to_tpm_and_usage_over_the_estimate_is_charged()
    {
        var window = new RateWindow(new ProviderLimits(TokensPerMinute: 1000));
        Assert.Equal((1, 600L), window.Grant(Minute, 1, 600));
        window.Charge(Minute, 300); // the call used 300 more than estimated
        Assert.Equal((1, 100L), window.Grant(Minute, 1, 600));
        Assert.Equal((0, 0L), window.Grant(Minute, 1, 1));
        Assert.Equal(1000, window.TokensUsed);
    }

    [Fact]
    public void Unlimited_grants_everything()
    {
        var window = new RateWindow(ProviderLimits.Unlimited);
        Assert.Equal((1000, 1_000_000L), window.Grant(Minute, 1000, 1_000_000));
    }
}
