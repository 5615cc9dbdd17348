using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Caching;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.Serialization;

namespace Orleans.LlmRouter.Grains.Tests.Caching;

/// <summary>The storage in front of the store: TTL and max-age, the pause after a failure, and a silo's local copies.</summary>
public sealed class ResponseCacheStorageTests
{
    private static readonly Serializer<CachedAnswer> Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer<CachedAnswer>>();

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SwitchableStore _store = new(new InMemoryResponseCacheStore());

    private ResponseCacheStorage Storage(TimeSpan localCopy) => new(_store, Serializer, new RouterClock(_clock),
        Options.Create(new ResponseCacheOptions { LocalCopy = localCopy }), NullLogger<ResponseCacheStorage>.Instance);

    private static CacheArgs Args(string key, TimeSpan ttl, TimeSpan? maxAge = null) => new("t:x", key, true, ttl, maxAge, 1 << 20);

    private static CachedAnswer Answer(string text) => new() { Items = [new ChatStreamItem { TextDelta = text, Usage = new TokenUsage(1, 1) }] };

    [Fact]
    public async Task An_answer_is_served_within_its_ttl_and_max_age_only()
    {
        var storage = Storage(TimeSpan.Zero);
        await storage.WriteAsync(Args("k", TimeSpan.FromSeconds(60)), Answer("a"));
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.NotNull(await storage.ReadAsync(Args("k", TimeSpan.FromSeconds(60))));
        Assert.Null(await storage.ReadAsync(Args("k", TimeSpan.FromSeconds(60), maxAge: TimeSpan.FromSeconds(29))));
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(await storage.ReadAsync(Args("k", TimeSpan.FromSeconds(60))));
    }

    [Fact]
    public async Task A_failed_store_is_left_alone_for_five_seconds_then_tried_again()
    {
        var storage = Storage(TimeSpan.Zero);
        _store.Broken = true;
        Assert.Null(await storage.ReadAsync(Args("k", TimeSpan.FromMinutes(1))));
        _store.Broken = false;
        await storage.WriteAsync(Args("k", TimeSpan.FromMinutes(1)), Answer("a")); // paused: not written
        Assert.Null(await storage.ReadAsync(Args("k", TimeSpan.FromMinutes(1))));
        _clock.Advance(ResponseCacheStorage.PauseAfterFailure);
        await storage.WriteAsync(Args("k", TimeSpan.FromMinutes(1)), Answer("a"));
        Assert.NotNull(await storage.ReadAsync(Args("k", TimeSpan.FromMinutes(1))));
    }

    [Fact]
    public async Task A_local_copy_serves_without_the_store_for_its_time_never_past_the_ttl_and_a_purge_here_drops_it()
    {
        var storage = Storage(TimeSpan.FromSeconds(10));
        await storage.WriteAsync(Args("long", TimeSpan.FromMinutes(5)), Answer("a"));
        await storage.WriteAsync(Args("short", TimeSpan.FromSeconds(4)), Answer("b"));
        await _store.PurgeAsync("t:x"); // as another silo's purge: this silo's copies stay until they lapse
        _store.Broken = true; // and the store is not asked meanwhile
        Assert.NotNull(await storage.ReadAsync(Args("long", TimeSpan.FromMinutes(5))));
        Assert.NotNull(await storage.ReadAsync(Args("short", TimeSpan.FromSeconds(4))));
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Null(await storage.ReadAsync(Args("short", TimeSpan.FromSeconds(4))));
        Assert.NotNull(await storage.ReadAsync(Args("long", TimeSpan.FromMinutes(5))));
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(await storage.ReadAsync(Args("long", TimeSpan.FromMinutes(5))));

        _store.Broken = false;
        _clock.Advance(ResponseCacheStorage.PauseAfterFailure);
        await storage.WriteAsync(Args("again", TimeSpan.FromMinutes(5)), Answer("c"));
        storage.DropCopies("t:x");
        await _store.PurgeAsync("t:x");
        Assert.Null(await storage.ReadAsync(Args("again", TimeSpan.FromMinutes(5))));
    }
}
