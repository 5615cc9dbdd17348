using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Caching;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>The embedded store: expiry and the per-namespace size cap, least recently used first.</summary>
public sealed class InMemoryResponseCacheStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    internal static CacheEntry Entry(string ns, string key, int size, DateTimeOffset at, TimeSpan ttl) =>
        new(ns, key, new CachedAnswer { Items = [new ChatStreamItem { TextDelta = key }] }, size, at, at + ttl);

    [Fact]
    public async Task An_entry_is_returned_until_it_expires_and_never_after()
    {
        var store = new InMemoryResponseCacheStore();
        await store.PutAsync(Entry("n", "k", 10, T0, TimeSpan.FromMinutes(1)), 1000, T0);
        Assert.NotNull(await store.GetAsync("n", "k", T0.AddSeconds(59)));
        Assert.Null(await store.GetAsync("n", "k", T0.AddSeconds(60)));
        Assert.Null(await store.GetAsync("other", "k", T0));
    }

    [Fact]
    public async Task A_namespace_over_its_cap_evicts_its_least_recently_used_entries_only()
    {
        var store = new InMemoryResponseCacheStore();
        await store.PutAsync(Entry("n", "a", 40, T0, TimeSpan.FromHours(1)), 100, T0);
        await store.PutAsync(Entry("n", "b", 40, T0, TimeSpan.FromHours(1)), 100, T0);
        await store.PutAsync(Entry("m", "z", 90, T0, TimeSpan.FromHours(1)), 100, T0);
        Assert.NotNull(await store.GetAsync("n", "a", T0)); // a is now the most recently used
        await store.PutAsync(Entry("n", "c", 40, T0, TimeSpan.FromHours(1)), 100, T0);
        Assert.Null(await store.GetAsync("n", "b", T0));
        Assert.NotNull(await store.GetAsync("n", "a", T0));
        Assert.NotNull(await store.GetAsync("n", "c", T0));
        Assert.NotNull(await store.GetAsync("m", "z", T0));
        Assert.Equal((2, 80L), await store.SizeAsync("n"));
        Assert.Equal(2, await store.PurgeAsync("n"));
        Assert.Equal((0, 0L), await store.SizeAsync("n"));
        Assert.Equal((1, 90L), await store.SizeAsync("m"));
    }

    [Fact]
    public async Task Replacing_an_entry_counts_its_size_once()
    {
        var store = new InMemoryResponseCacheStore();
        await store.PutAsync(Entry("n", "a", 40, T0, TimeSpan.FromHours(1)), 100, T0);
        await store.PutAsync(Entry("n", "a", 50, T0, TimeSpan.FromHours(1)), 100, T0);
        Assert.Equal((1, 50L), await store.SizeAsync("n"));
    }

    [Fact]
    public async Task The_nearest_vector_of_a_scope_at_or_above_the_threshold_is_found_and_the_index_is_bounded()
    {
        var store = new InMemoryResponseCacheStore();
        static float[] Unit(params float[] v) => v.Select(x => x / (float)Math.Sqrt(v.Sum(y => y * y))).ToArray();
        await store.PutVectorAsync("n", "east", "s1", Unit(1, 0, 0), 3, T0);
        await store.PutVectorAsync("n", "north", "s1", Unit(0, 1, 0), 3, T0);
        await store.PutVectorAsync("n", "other-scope", "s2", Unit(1, 0.1f, 0), 3, T0);
        Assert.Equal("east", await store.NearestAsync("n", "s1", Unit(1, 0.2f, 0), 0.95));
        Assert.Null(await store.NearestAsync("n", "s1", Unit(1, 1, 0), 0.95));
        Assert.Equal("other-scope", await store.NearestAsync("n", "s2", Unit(1, 0, 0), 0.9));
        await store.PutVectorAsync("n", "up", "s1", Unit(0, 0, 1), 3, T0);
        Assert.Null(await store.NearestAsync("n", "s1", Unit(1, 0, 0), 0.9));
        await store.PurgeAsync("n");
        Assert.Null(await store.NearestAsync("n", "s1", Unit(0, 1, 0), 0.9));
    }
}
