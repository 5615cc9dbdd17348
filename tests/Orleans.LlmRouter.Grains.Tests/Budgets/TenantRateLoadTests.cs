using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>
/// Issue 32 for a tenant's own rpm and tpm: the budget grain counts every request of the minute in one place (no
/// lease), so sustained concurrent load at 5 % of the limit is never refused and at 100 % exactly the limit is
/// admitted per minute, whichever of the three silos the calls come through.
/// </summary>
[Collection(BudgetClusterCollection.Name)]
public sealed class TenantRateLoadTests(BudgetClusterFixture fx)
{
    private const int Callers = 32;
    private const int TokensPerCall = 10;

    private void StartOfMinute() =>
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60)));

    /// <summary>
    /// Callers reserve (counting the request) and settle 10 tokens, through the three silos' clients in turn; one fake
    /// second passes every <paramref name="perSecond"/> calls (none when 0). Returns admitted calls and the refusals.
    /// </summary>
    private async Task<(int Admitted, List<TenantRateLimitedException> Refused)> Load(string tenant, int total, int perSecond)
    {
        var refused = new List<TenantRateLimitedException>();
        var admitted = 0;
        var next = 0;
        var grains = fx.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>().GetTenantBudget(tenant)).ToList();
        var workers = Enumerable.Range(0, Callers).Select(w => Task.Run(async () =>
        {
            var grain = grains[w % grains.Count];
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i > total)
                {
                    return;
                }

                var id = $"{tenant}-{Guid.NewGuid():N}";
                try
                {
                    await grain.ReserveAsync(id, TokensPerCall, 0m, null, countsRequest: true);
                    Interlocked.Increment(ref admitted);
                    await grain.SettleAsync(id, new UsageRecord(id, "sim", "cheap", new TokenUsage(TokensPerCall / 2, TokensPerCall / 2), 0m, true));
                }
                catch (TenantRateLimitedException ex)
                {
                    lock (refused)
                    {
                        refused.Add(ex);
                    }
                }

                if (perSecond > 0 && i % perSecond == 0)
                {
                    fx.Clock.Advance(TimeSpan.FromSeconds(1));
                }
            }
        }, TestContext.Current.CancellationToken)).ToList();
        await Task.WhenAll(workers);
        return (admitted, refused);
    }

    [Theory]
    [InlineData("rpm-load")] // rpm 600,000: 30,000 a minute is 5 %
    [InlineData("tpm-load")] // tpm 6,000,000: 300,000 tokens a minute is 5 %
    public async Task A_tenant_at_five_percent_of_its_limit_is_never_refused(string tenant)
    {
        StartOfMinute();
        var (admitted, refused) = await Load(tenant, 50_000, perSecond: 500);
        Assert.True(refused.Count == 0, refused.FirstOrDefault()?.Message);
        Assert.Equal(50_000, admitted);
    }

    [Theory]
    [InlineData("rpm-full", "rpm")] // 600 requests a minute
    [InlineData("tpm-full", "tpm")] // 6,000 tokens a minute at 10 a call: 600 calls
    public async Task A_tenant_at_its_limit_gets_exactly_the_limit_each_minute_and_429s_with_retry_after(string tenant, string limit)
    {
        for (var minute = 0; minute < 2; minute++)
        {
            StartOfMinute();
            var (admitted, refused) = await Load(tenant, 800, perSecond: 0);
            Assert.Equal(600, admitted);
            Assert.Equal(200, refused.Count);
            Assert.All(refused, ex =>
            {
                Assert.Equal(limit, ex.Limit);
                Assert.Equal(60, ex.RetryAfterSeconds);
            });
        }
    }
}
