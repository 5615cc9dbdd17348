using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Tests.Hosting;

/// <summary>The retry helper for grain calls whose target silo was lost, on a fake clock.</summary>
public sealed class GrainCallsTests
{
    private static readonly GrainCallRetry Retry = new(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task A_call_that_fails_with_silo_loss_is_retried_until_the_grain_answers_again()
    {
        var calls = 0;
        var task = GrainCalls.RetryOnSiloLossAsync(() => ++calls < 3 ? Task.FromException<int>(new SiloUnavailableException()) : Task.FromResult(42), Retry, _time, TestContext.Current.CancellationToken);

        Assert.False(task.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(200)); // first retry
        Assert.False(task.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(400)); // second retry, delay doubled
        Assert.Equal(42, await task);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Retries_stop_at_the_budget_and_the_last_failure_is_thrown()
    {
        var calls = 0;
        var task = GrainCalls.RetryOnSiloLossAsync(() =>
        {
            calls++;
            return Task.FromException(new Orleans.Runtime.Messaging.ConnectionFailedException("refused"));
        }, Retry, _time, TestContext.Current.CancellationToken);

        for (var i = 0; i < 20 && !task.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        await Assert.ThrowsAsync<Orleans.Runtime.Messaging.ConnectionFailedException>(() => task);
        Assert.InRange(calls, 4, 8); // 0.2 + 0.4 + 0.8 + 1 + 1 + 1 ≤ 5 s
    }

    [Fact]
    public async Task Other_failures_are_not_retried()
    {
        var calls = 0;
        var task = GrainCalls.RetryOnSiloLossAsync(() =>
        {
            calls++;
            return Task.FromException<int>(new InvalidOperationException("budget says no"));
        }, Retry, _time, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InvalidOperationException>(() => task);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void The_retry_budget_follows_the_membership_settings()
    {
        var fast = GrainCallRetry.From(new ClusterMembershipOptions { ProbeTimeout = TimeSpan.FromSeconds(1), NumMissedProbesLimit = 2 });
        Assert.Equal(TimeSpan.FromSeconds(5), fast.Budget);
        var production = GrainCallRetry.From(new ClusterMembershipOptions());
        Assert.Equal(TimeSpan.FromSeconds(22), production.Budget);
    }
}
