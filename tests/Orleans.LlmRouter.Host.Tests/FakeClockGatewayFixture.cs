using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Grains.Hosting;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>
/// A gateway whose router clock is a <see cref="FakeTimeProvider"/> (Orleans keeps the system clock), with stored
/// responses kept for <see cref="Retention"/>: tests move time on with <see cref="Clock"/>. Calls go to the mock
/// upstream models (the simulated provider would wait for its latency on the fake clock).
/// </summary>
public sealed class FakeClockGatewayFixture : GatewayFixture
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override IEnumerable<string> Arguments => [$"--LlmRouter:Responses:Retention={Retention}"];

    protected override void Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new RouterClock(Clock));
    }
}

[CollectionDefinition(Name)]
public sealed class FakeClockGatewayCollection : ICollectionFixture<FakeClockGatewayFixture>
{
    public const string Name = "gateway-fake-clock";
}
