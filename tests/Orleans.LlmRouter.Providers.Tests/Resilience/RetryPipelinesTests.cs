using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Resilience;

namespace Orleans.LlmRouter.Providers.Tests.Resilience;

public sealed class RetryPipelinesTests
{
    private static readonly ProviderDefinition Provider =
        new("p", ProviderTypes.Simulated, null, null, TimeSpan.FromSeconds(30), 1, true, ProviderLimits.Unlimited, BreakerSettings.Default, RetrySettings.Default, new Dictionary<string, string>(), SourceLocation.None);

    [Fact]
    public async Task A_rate_limit_is_retried_after_its_retry_after_and_no_sooner()
    {
        var clock = new FakeTimeProvider();
        var pipeline = RetryPipelines.Create(new RetrySettings(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(30)), clock);
        var calls = 0;
        var run = pipeline.ExecuteAsync(
            _ =>
            {
                calls++;
                return calls == 1
                    ? throw ProviderException.Create(ProviderErrorClass.RateLimited, Provider, null, 429, "slow down", TimeSpan.FromSeconds(7))
                    : ValueTask.FromResult("ok");
            },
            TestContext.Current.CancellationToken).AsTask();

        Assert.Equal(1, calls);
        clock.Advance(TimeSpan.FromSeconds(6.9));
        Assert.Equal(1, calls);
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal("ok", await run);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Retry_after_is_capped_at_the_max_delay()
    {
        var clock = new FakeTimeProvider();
        var pipeline = RetryPipelines.Create(new RetrySettings(2, TimeSpan.Zero, TimeSpan.FromSeconds(5)), clock);
        var calls = 0;
        var run = pipeline.ExecuteAsync(
            _ => ++calls == 1 ? throw ProviderException.Create(ProviderErrorClass.RateLimited, Provider, null, 429, "wait an hour", TimeSpan.FromHours(1)) : ValueTask.FromResult(calls),
            TestContext.Current.CancellationToken).AsTask();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, await run);
    }

    [Fact]
    public async Task Transient_errors_stop_after_max_attempts_and_permanent_ones_are_not_retried()
    {
        var clock = new FakeTimeProvider();
        var pipeline = RetryPipelines.Create(new RetrySettings(3, TimeSpan.Zero, TimeSpan.Zero), clock);
        var calls = 0;
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.Server, () => pipeline.ExecuteAsync<string>(
            _ => { calls++; throw ProviderException.Create(ProviderErrorClass.Server, Provider, null, 500, "boom"); },
            TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(3, calls);

        calls = 0;
        await ProviderAssert.ThrowsAsync(ProviderErrorClass.BadRequest, () => pipeline.ExecuteAsync<string>(
            _ => { calls++; throw ProviderException.Create(ProviderErrorClass.BadRequest, Provider, null, 400, "bad"); },
            TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(1, calls);
    }

    [Fact]
    public void An_explicit_should_retry_header_overrides_the_class()
    {
        var ex = ProviderException.Create(ProviderErrorClass.Server, Provider, null, 500, "x");
        Assert.True(ex.IsTransient);
        var overridden = new ProviderException(ProviderErrorClass.Server, "p", null, 500, "x") { ShouldRetryOverride = false };
        Assert.False(overridden.IsTransient);
    }
}
