using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Caching;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.MockUpstream;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>
/// A shared upstream call is held by its cache grain; when that grain's silo dies mid-call, the callers waiting on it on
/// other silos are answered by a new activation (one ledger row per request), never left hanging. Its own cluster: the
/// test kills a silo.
/// </summary>
public sealed class CacheSiloLossTests : IAsyncLifetime
{
    private readonly InMemoryLedger _ledger = new();
    private MockUpstreamServer _mock = null!;
    private InProcessTestCluster _cluster = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _mock = await MockUpstreamServer.StartAsync();
        _mock.Timing = new MockTiming(TimeSpan.FromSeconds(2), TimeSpan.Zero, TimeSpan.Zero);
        var yaml = CacheClusterFixture.Yaml.Replace("{MOCK}", _mock.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal);
        var catalog = new CatalogLoader(environment: v => v == "LLMROUTER_CACHE_MOCK_KEY" ? CacheClusterFixture.MockKey : null).Load([("cache.yaml", yaml)]).Catalog;
        var store = new InMemoryResponseCacheStore();
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            // The system clock: the calls that reached the killed silo are repeated after real delays, and its drain is bounded in real time.
            silo.Services.AddSingleton<ILedger>(_ledger);
            silo.Services.AddSingleton<IResponseCacheStore>(store);
            silo.Services.AddLlmRouterGrains(catalog);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        await _mock.DisposeAsync();
    }

    [Fact]
    public async Task Callers_of_a_shared_call_whose_silo_dies_are_answered_by_a_new_activation()
    {
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var marker = Guid.NewGuid().ToString("N")[..12];
            var request = new ChatRequest([RouterMessage.FromText("user", $"silo loss {marker}")]) { Temperature = 0 };
            int Calls() => _mock.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal));
            // The leader calls from a silo that is not the primary (which must stay): the cache grain lands where it is
            // first called, most often that silo.
            var leaderSilo = _cluster.Silos[1 + (attempt % 2)];
            var leader = new RouterContext("c1") { Model = "m-up" };
            var call = RouterOn(leaderSilo).CompleteAsync(request, leader, Cancel);
            for (var i = 0; i < 500 && Calls() == 0; i++)
            {
                await Task.Delay(10, Cancel);
            }

            var host = await HostOfCacheGrainAsync(RequestFingerprint.Of(request, "model:m-up", stream: false));
            if (host is null || host == _cluster.Silos[0].SiloAddress)
            {
                await call; // the shared call runs on the primary, which stays: try another request
                continue;
            }

            var survivor = _cluster.Silos.First(s => s.SiloAddress != host && s.SiloAddress != leaderSilo.SiloAddress);
            var follower = new RouterContext("c1") { Model = "m-up" };
            var second = RouterOn(survivor).CompleteAsync(request, follower, Cancel);
            await _cluster.KillSiloAsync(_cluster.Silos.First(s => s.SiloAddress == host));

            // A caller on the killed silo dies with it; a caller elsewhere is answered.
            var callers = host == leaderSilo.SiloAddress ? new[] { (second, follower) } : [(call, leader), (second, follower)];
            var answers = await Task.WhenAll(callers.Select(c => c.Item1)).WaitAsync(TimeSpan.FromSeconds(60), Cancel);
            _ = call.ContinueWith(t => t.Exception, TaskScheduler.Default);
            Assert.All(answers, a => Assert.False(string.IsNullOrEmpty(a.Message.Text)));
            Assert.InRange(Calls(), 2, 3); // the lost call, and the new activation's (one more if the follower started its own)
            foreach (var id in callers.Select(c => c.Item2.RequestId))
            {
                var rows = new List<LedgerRecord>();
                await foreach (var row in _ledger.QueryAsync(new UsageQuery("c1"), Cancel))
                {
                    if (row.RequestId == id)
                    {
                        rows.Add(row);
                    }
                }

                Assert.Single(rows);
            }

            return;
        }

        Assert.Fail("the cache grain landed on the primary silo in all 12 requests");
    }

    private IRouterGrain Router(int silo) => RouterOn(_cluster.Silos[silo]);

    private static IRouterGrain RouterOn(InProcessSiloHandle silo) =>
        silo.ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<IRouterGrain>(0);

    /// <summary>The silo of the cache grain of fingerprint <paramref name="key"/>; null when it has no activation.</summary>
    private async Task<SiloAddress?> HostOfCacheGrainAsync(string key)
    {
        var stats = await _cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return stats.Where(s => s.GrainId.ToString().Contains(key, StringComparison.Ordinal)).Select(s => s.SiloAddress).FirstOrDefault();
    }
}
