using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Grains.Routing;

namespace Orleans.LlmRouter.Grains.Tests.Routing;

public sealed class InFlightRequestsTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_draining_silo_refuses_new_requests_and_keeps_the_running_ones()
    {
        var inFlight = new InFlightRequests(_clock);
        var running = inFlight.Begin("r-running", "acme", CancellationToken.None);
        inFlight.StartDraining();

        Assert.Throws<SiloDrainingException>(() => inFlight.Begin("r-new", "acme", CancellationToken.None));
        Assert.Equal(1, inFlight.Count); // the refused one left nothing behind
        Assert.True(inFlight.IsRunning("r-running"));
        Assert.False(inFlight.IsRunning("r-new"));

        running.Dispose();
        Assert.Equal(0, inFlight.Count); // what the drain waits for
    }

    [Fact]
    public void A_running_request_is_cancelled_at_once_by_its_own_tenant_only()
    {
        var inFlight = new InFlightRequests(_clock);
        using var registration = inFlight.Begin("r1", "acme", CancellationToken.None);
        Assert.False(inFlight.Cancel("r1", "other"));
        Assert.False(registration.Token.IsCancellationRequested);
        Assert.True(inFlight.Cancel("r1", "acme"));
        Assert.True(registration.Token.IsCancellationRequested);
    }

    [Fact]
    public void A_cancellation_that_overtakes_its_request_applies_when_the_request_begins()
    {
        var inFlight = new InFlightRequests(_clock);
        Assert.False(inFlight.Cancel("r2", "acme")); // not running yet
        using var registration = inFlight.Begin("r2", "acme", CancellationToken.None);
        Assert.True(registration.Token.IsCancellationRequested);
    }

    [Fact]
    public void An_early_cancellation_from_another_tenant_or_too_old_does_not_apply()
    {
        var inFlight = new InFlightRequests(_clock);
        inFlight.Cancel("r3", "other");
        using (var foreign = inFlight.Begin("r3", "acme", CancellationToken.None))
        {
            Assert.False(foreign.Token.IsCancellationRequested);
        }

        inFlight.Cancel("r4", "acme");
        _clock.Advance(InFlightRequests.EarlyCancelLifetime);
        using var late = inFlight.Begin("r4", "acme", CancellationToken.None);
        Assert.False(late.Token.IsCancellationRequested);
    }
}
