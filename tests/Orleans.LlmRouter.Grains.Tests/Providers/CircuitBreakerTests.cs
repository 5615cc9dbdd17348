using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Tests.Providers;

public sealed class CircuitBreakerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly BreakerSettings Settings = new(FailureRatio: 0.5, MinimumCalls: 4, SamplingWindow: TimeSpan.FromSeconds(30), BreakDuration: TimeSpan.FromSeconds(20));

    [Fact]
    public void Stays_closed_below_the_minimum_number_of_calls()
    {
        var breaker = new CircuitBreaker(Settings);
        for (var i = 0; i < 3; i++)
        {
            breaker.RecordFailure(T0, "server");
        }

        Assert.Equal(ProviderCircuitState.Closed, breaker.State);
        Assert.True(breaker.AllowsTraffic);
    }

    [Fact]
    public void Opens_when_the_failure_ratio_is_reached_with_enough_calls()
    {
        var breaker = new CircuitBreaker(Settings);
        breaker.RecordSuccess(T0);
        breaker.RecordSuccess(T0);
        breaker.RecordFailure(T0, "server");
        Assert.Equal(ProviderCircuitState.Closed, breaker.State);
        breaker.RecordFailure(T0.AddSeconds(1), "timeout");

        Assert.Equal(ProviderCircuitState.Open, breaker.State);
        Assert.Equal(T0.AddSeconds(21), breaker.OpenUntil);
        Assert.Equal("timeout", breaker.LastFailureClass);
        Assert.False(breaker.AllowsTraffic);
    }

    [Fact]
    public void A_probe_given_back_unsent_can_be_taken_again_at_once()
    {
        var breaker = new CircuitBreaker(Settings);
        breaker.RecordSuccess(T0);
        breaker.RecordSuccess(T0);
        breaker.RecordFailure(T0, "server");
        breaker.RecordFailure(T0, "server");
        var after = breaker.OpenUntil!.Value;
        Assert.True(breaker.TryBeginProbe(after));
        Assert.False(breaker.TryBeginProbe(after)); // one probe at a time

        breaker.ReleaseProbe(); // refused by another scope: never sent
        Assert.Equal(ProviderCircuitState.HalfOpen, breaker.State);
        Assert.True(breaker.TryBeginProbe(after));
        Assert.False(breaker.TryBeginProbe(after));
    }

    [Fact]
    public void Failures_older_than_the_window_do_not_count()
    {
        var breaker = new CircuitBreaker(Settings);
        breaker.RecordFailure(T0, "server");
        breaker.RecordFailure(T0, "server");
        breaker.RecordFailure(T0, "server");
        var later = T0.AddSeconds(31);
        breaker.RecordSuccess(later);
        breaker.RecordSuccess(later);
        breaker.RecordSuccess(later);
        breaker.RecordFailure(later, "server");

        Assert.Equal(ProviderCircuitState.Closed, breaker.State); // 1 failure of 4 in the window
    }

    [Fact]
    public void After_the_break_exactly_one_probe_is_granted_and_its_success_closes()
    {
        var breaker = Opened();
        Assert.False(breaker.TryBeginProbe(T0.AddSeconds(10)));
        Assert.True(breaker.TryBeginProbe(T0.AddSeconds(21)));
        Assert.Equal(ProviderCircuitState.HalfOpen, breaker.State);
        Assert.False(breaker.TryBeginProbe(T0.AddSeconds(22)));
        Assert.False(breaker.TryBeginProbe(T0.AddSeconds(23)));

        breaker.RecordSuccess(T0.AddSeconds(24), wasProbe: true);
        Assert.Equal(ProviderCircuitState.Closed, breaker.State);
        Assert.True(breaker.AllowsTraffic);
    }

    [Fact]
    public void A_failed_probe_opens_again_for_another_break()
    {
        var breaker = Opened();
        Assert.True(breaker.TryBeginProbe(T0.AddSeconds(21)));
        breaker.RecordFailure(T0.AddSeconds(22), "server", wasProbe: true);
        Assert.Equal(ProviderCircuitState.Open, breaker.State);
        Assert.Equal(T0.AddSeconds(42), breaker.OpenUntil);
    }

    [Fact]
    public void A_probe_that_never_reports_is_replaced_after_the_break_time()
    {
        var breaker = Opened();
        Assert.True(breaker.TryBeginProbe(T0.AddSeconds(21)));
        Assert.False(breaker.TryBeginProbe(T0.AddSeconds(30)));
        Assert.True(breaker.TryBeginProbe(T0.AddSeconds(41)));
    }

    [Fact]
    public void Restored_state_keeps_an_open_breaker_open_until_its_time()
    {
        var breaker = new CircuitBreaker(Settings);
        breaker.Restore(ProviderCircuitState.Open, T0.AddMinutes(5));
        Assert.Equal(ProviderCircuitState.Open, breaker.State);
        Assert.False(breaker.TryBeginProbe(T0));
        Assert.True(breaker.TryBeginProbe(T0.AddMinutes(5)));
    }

    private static CircuitBreaker Opened()
    {
        var breaker = new CircuitBreaker(Settings);
        for (var i = 0; i < 4; i++)
        {
            breaker.RecordFailure(T0, "server");
        }

        Assert.Equal(ProviderCircuitState.Open, breaker.State);
        return breaker;
    }
}
