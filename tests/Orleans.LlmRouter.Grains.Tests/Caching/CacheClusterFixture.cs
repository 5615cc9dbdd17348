using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Caching;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.MockUpstream;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>
/// Three silos over the wire-faithful mock upstream (real HTTP on loopback), sharing one ledger and one cache store as a
/// durable cluster shares PostgreSQL, on a fake router clock. The mock answers after a delay, so identical requests
/// sent together overlap.
/// </summary>
public sealed class CacheClusterFixture : IAsyncLifetime
{
    public const string Yaml = """
        providers:
          - { id: up, type: openai, base_url: "{MOCK}", api_key_env: LLMROUTER_CACHE_MOCK_KEY, timeout_seconds: 30, retry: { max_attempts: 1 } }
          - { id: sim, type: simulated, retry: { max_attempts: 1 } }
        models:
          - { name: m-up, provider: up, provider_model: mock-small, aliases: [m-alias], capabilities: [chat, streaming, tools], context_window: 8000, max_output_tokens: 200, pricing: { input: 2, output: 4 } }
          - { name: sim-embed, provider: sim, provider_model: sim-embed-1, capabilities: [embedding], context_window: 8192, max_output_tokens: 1, pricing: { input: 0.02, output: 0 } }
        actions:
          - name: cached
            requires: [chat]
            cache: { enabled: true, ttl_seconds: 30 }
            strategies:
              default: [m-up]
          - name: plain
            requires: [chat]
            strategies:
              default: [m-up]
        tenants:
          - { id: c1, cache: { enabled: true, ttl_seconds: 600 } }
          - { id: c2, cache: { enabled: true } }
          - { id: c0 }
          - { id: cx, cache: { enabled: false } }
          - { id: cp, cache: { enabled: true, hit_price_usd: 0.001 }, budgets: { usd: { lifetime: 1 } } }
          - { id: cs1, cache: { enabled: true, namespace: pool } }
          - { id: cs2, cache: { enabled: true, namespace: pool } }
          - { id: cb, cache: { enabled: true, max_mb: 1 } }
          - { id: sem, cache: { enabled: true, semantic: { model: sim-embed, threshold: 0.9, dimensions: 256 } } }
        """;

    public const string MockKey = "sk-cache-mock-key-5d2";

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    internal InMemoryLedger Ledger { get; } = new();

    internal SwitchableStore Store { get; } = new(new InMemoryResponseCacheStore());

    public MockUpstreamServer Mock { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Mock = await MockUpstreamServer.StartAsync();
        Mock.Timing = new MockTiming(TimeSpan.FromMilliseconds(600), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(20));
        Environment.SetEnvironmentVariable("LLMROUTER_CACHE_MOCK_KEY", MockKey);
        var catalog = new CatalogLoader(environment: v => v == "LLMROUTER_CACHE_MOCK_KEY" ? MockKey : null)
            .Load([("cache.yaml", Yaml.Replace("{MOCK}", Mock.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal))]).Catalog;
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.Services.AddSingleton(new RouterClock(Clock));
            silo.Services.AddSingleton<ILedger>(Ledger);
            silo.Services.AddSingleton<IResponseCacheStore>(Store);
            silo.Services.AddLlmRouterGrains(catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>The router grain on silo <paramref name="silo"/> (a stateless worker: it runs there).</summary>
    public IRouterGrain Router(int silo) =>
        Cluster.Silos[silo].ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<IRouterGrain>(0);

    /// <summary>The upstream chat calls whose body contains <paramref name="marker"/>.</summary>
    public int UpstreamCalls(string marker) =>
        Mock.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal) && r.Body.Contains(marker, StringComparison.Ordinal));

    internal async Task<List<LedgerRecord>> RowsAsync(string tenant, IEnumerable<string> requestIds)
    {
        var ids = requestIds.ToHashSet(StringComparer.Ordinal);
        var rows = new List<LedgerRecord>();
        await foreach (var row in Ledger.QueryAsync(new UsageQuery(tenant)))
        {
            if (ids.Contains(row.RequestId))
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Mock.DisposeAsync();
    }
}

/// <summary>A store that can be made to fail every call, as PostgreSQL down does.</summary>
internal sealed class SwitchableStore(IResponseCacheStore inner) : IResponseCacheStore
{
    public volatile bool Broken;

    public Task<CacheEntry?> GetAsync(string ns, string key, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Broken ? throw new InvalidOperationException("store down") : inner.GetAsync(ns, key, now, cancellationToken);

    public Task PutAsync(CacheEntry entry, long maxBytes, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Broken ? throw new InvalidOperationException("store down") : inner.PutAsync(entry, maxBytes, now, cancellationToken);

    public Task<int> PurgeAsync(string ns, CancellationToken cancellationToken = default) => inner.PurgeAsync(ns, cancellationToken);

    public Task<(int Entries, long Bytes)> SizeAsync(string ns, CancellationToken cancellationToken = default) => inner.SizeAsync(ns, cancellationToken);

    public Task PutVectorAsync(string ns, string key, string scope, float[] vector, int maxEntries, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Broken ? throw new InvalidOperationException("store down") : inner.PutVectorAsync(ns, key, scope, vector, maxEntries, now, cancellationToken);

    public Task<string?> NearestAsync(string ns, string scope, float[] vector, double threshold, CancellationToken cancellationToken = default) =>
        Broken ? throw new InvalidOperationException("store down") : inner.NearestAsync(ns, scope, vector, threshold, cancellationToken);
}

[CollectionDefinition(Name)]
public sealed class CacheClusterCollection : ICollectionFixture<CacheClusterFixture>
{
    public const string Name = "cache-cluster";
}
