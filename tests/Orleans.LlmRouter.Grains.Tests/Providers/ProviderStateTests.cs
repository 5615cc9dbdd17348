using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Tests.Providers;

[Collection(ProviderClusterCollection.Name)]
public sealed class ProviderStateTests(ProviderClusterFixture fx)
{
    private static readonly ProviderOutcome Failure = new(false, ProviderErrorClass.Server, true, 10, false, 0, null);
    private static readonly ProviderOutcome Success = new(true, null, false, 10, false, 0, null);

    /// <summary>Waits for a pushed snapshot to reach a silo (delivery is asynchronous, not timed).</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), what);
    }

    private async Task<ProviderPermit> Admit(int silo, string provider, long tokens = 10)
    {
        var (permit, denied) = await fx.Gates[silo].AdmitAsync(fx.Provider(provider), tokens);
        Assert.True(permit is not null, denied);
        return permit!;
    }

    [Fact]
    public async Task Failures_reported_on_different_silos_open_one_breaker_that_every_silo_sees()
    {
        var p = fx.Provider("flaky");
        for (var silo = 0; silo < 3; silo++)
        {
            await fx.Gates[silo].Complete(await Admit(silo, "flaky"), Success);
        }

        foreach (var gate in fx.Gates)
        {
            await gate.FlushAllAsync(); // successes are reported in batches; send them now
        }

        // Failures alternate between silo 0 and silo 1 until the one cluster-wide breaker opens.
        var grain = fx.Cluster.Client.GetGrain<IProviderGrain>("flaky");
        var failures = 0;
        while ((await grain.GetSnapshotAsync()).State == ProviderCircuitState.Closed)
        {
            var silo = failures++ % 2;
            await fx.Gates[silo].Complete(await Admit(silo, "flaky"), Failure);
            Assert.True(failures <= 4, "the breaker should open by the fourth failure (3 successes, ratio 0.5)");
        }

        Assert.Equal(3, failures); // 3 of 6 calls failed: minimum calls reached, ratio 0.5 reached
        var health = await grain.GetHealthAsync();
        Assert.Equal(ProviderCircuitState.Open, health.State);
        Assert.Equal(3, health.Failures);
        Assert.Equal("server", health.LastFailureClass);
        for (var silo = 0; silo < 3; silo++)
        {
            var gate = fx.Gates[silo];
            await Eventually(() => gate.Unavailable(p) is { } r && r.Contains("circuit is open", StringComparison.Ordinal), $"silo {silo} sees the open circuit");
            var (permit, denied) = await gate.AdmitAsync(p, 10);
            Assert.Null(permit);
            Assert.Contains("circuit is open", denied, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task After_the_break_exactly_one_half_open_probe_is_admitted_cluster_wide()
    {
        var p = fx.Provider("probe");
        await fx.Gates[0].Complete(await Admit(0, "probe"), Failure);
        await fx.Gates[1].Complete(await Admit(1, "probe"), Failure);
        await Eventually(() => fx.Gates.All(g => g.LocalSnapshot("probe")?.State == ProviderCircuitState.Open), "open everywhere");

        fx.Clock.Advance(TimeSpan.FromSeconds(31));
        var results = await Task.WhenAll(Enumerable.Range(0, 9).Select(i => fx.Gates[i % 3].AdmitAsync(p, 10).AsTask()));
        var probes = results.Where(r => r.Permit is not null).ToList();
        Assert.Single(probes);
        Assert.True(probes[0].Permit!.IsProbe);
        Assert.All(results.Where(r => r.Permit is null), r => Assert.Contains("probe", r.Denied, StringComparison.Ordinal));

        var winner = Array.FindIndex(results, r => r.Permit is not null) % 3;
        await fx.Gates[winner].Complete(probes[0].Permit!, Success with { WasProbe = true });
        Assert.Equal(ProviderCircuitState.Closed, (await fx.Cluster.Client.GetGrain<IProviderGrain>("probe").GetSnapshotAsync()).State);
        await Eventually(() => fx.Gates.All(g => g.Unavailable(p) is null), "closed everywhere");
    }

    [Fact]
    public async Task A_silo_idle_for_longer_than_the_observer_ttl_still_receives_pushes()
    {
        var p = fx.Provider("idle");
        await Eventually(() => fx.Gates.All(g => g.LocalSnapshot("idle") is not null), "warm-up subscribed every silo");

        // Five quiet minutes, in the small steps a real clock takes: no silo sends a call to 'idle'.
        for (var i = 0; i < 30; i++)
        {
            fx.Clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await fx.Gates[0].Complete(await Admit(0, "idle"), Failure);
        await fx.Gates[1].Complete(await Admit(1, "idle"), Failure);
        Assert.Equal(ProviderCircuitState.Open, (await fx.Cluster.Client.GetGrain<IProviderGrain>("idle").GetSnapshotAsync()).State);
        await Eventually(() => fx.Gates[2].LocalSnapshot("idle")?.State == ProviderCircuitState.Open, "the idle silo got the push");
        Assert.Contains("circuit is open", fx.Gates[2].Unavailable(p), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rpm_holds_across_three_silos_within_the_lease_bound()
    {
        var p = fx.Provider("rpm");
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60))); // start of a minute
        var admitted = 0;
        for (var i = 0; i < 120; i++)
        {
            var (permit, _) = await fx.Gates[i % 3].AdmitAsync(p, 1);
            if (permit is not null)
            {
                admitted++;
                await fx.Gates[i % 3].Complete(permit, Success);
            }
        }

        var chunk = 60 / ProviderGate.LeaseFraction;
        Assert.InRange(admitted, 60 - (3 * chunk), 60);

        fx.Clock.Advance(TimeSpan.FromMinutes(1));
        var (next, denied) = await fx.Gates[0].AdmitAsync(p, 1);
        Assert.True(next is not null, denied);
    }

    [Fact]
    public async Task A_models_own_rpm_limits_that_model_only_across_silos()
    {
        var p = fx.Provider("scoped");
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60))); // start of a minute
        int limited = 0, plain = 0;
        for (var i = 0; i < 24; i++)
        {
            var gate = fx.Gates[i % 3];
            if ((await gate.AdmitAsync(p, fx.Model("m-limited"), 1)).Permit is { } a)
            {
                limited++;
                await gate.Complete(a, Success);
            }

            if ((await gate.AdmitAsync(p, fx.Model("m-plain"), 1)).Permit is { } b)
            {
                plain++;
                await gate.Complete(b, Success);
            }
        }

        Assert.InRange(limited, 3, 6); // rpm 6, leased one request at a time per silo
        Assert.Equal(24, plain);
        var (refused, why) = await fx.Gates[0].AdmitAsync(p, fx.Model("m-limited"), 1);
        Assert.Null(refused);
        Assert.Contains("model 'm-limited' on provider 'scoped'", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_models_own_breaker_opens_for_that_model_only()
    {
        var p = fx.Provider("scoped");
        var fragile = fx.Model("m-fragile");
        await fx.Gates[0].Complete((await fx.Gates[0].AdmitAsync(p, fragile, 1)).Permit!, Failure);
        await fx.Gates[1].Complete((await fx.Gates[1].AdmitAsync(p, fragile, 1)).Permit!, Success);
        await fx.Gates[2].Complete((await fx.Gates[2].AdmitAsync(p, fragile, 1)).Permit!, Failure);

        var scope = await fx.Cluster.Client.GetGrain<IProviderGrain>(ModelScopes.IdOf(p, fragile)).GetSnapshotAsync();
        Assert.Equal(ProviderCircuitState.Open, scope.State);
        await Eventually(() => fx.Gates.All(g => g.Unavailable(p, fragile)?.Contains("circuit is open", StringComparison.Ordinal) == true), "every silo sees the model's open circuit");
        Assert.Null(fx.Gates[0].Unavailable(p, fx.Model("m-plain")));
        Assert.Null(fx.Gates[0].Unavailable(p));
    }

    [Fact]
    public async Task Tpm_holds_across_three_silos()
    {
        var p = fx.Provider("tpm");
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60)));
        long tokens = 0;
        for (var i = 0; i < 60; i++)
        {
            var (permit, _) = await fx.Gates[i % 3].AdmitAsync(p, 100);
            if (permit is not null)
            {
                tokens += 100;
            }
        }

        Assert.InRange(tokens, 1, 1000);
    }

    [Fact]
    public async Task Max_concurrency_is_cluster_wide()
    {
        var p = fx.Provider("conc");
        var permits = new List<(int Silo, ProviderPermit Permit)>();
        for (var i = 0; i < 12; i++)
        {
            var (permit, _) = await fx.Gates[i % 3].AdmitAsync(p, 1);
            if (permit is not null)
            {
                permits.Add((i % 3, permit));
            }
        }

        Assert.InRange(permits.Count, 1, 4);
        foreach (var (silo, permit) in permits)
        {
            await fx.Gates[silo].Complete(permit, Success);
        }

        await Eventually(() => fx.Cluster.Client.GetGrain<IProviderGrain>("conc").GetHealthAsync().Result.ConcurrencySlotsLeased == 0, "slots returned");
    }

    [Fact]
    public async Task A_429_with_retry_after_on_one_silo_pauses_the_provider_on_all()
    {
        var p = fx.Provider("paused");
        for (var silo = 0; silo < 3; silo++)
        {
            await fx.Gates[silo].Complete(await Admit(silo, "paused"), Success);
        }

        await fx.Gates[2].Complete(await Admit(2, "paused"), new ProviderOutcome(false, ProviderErrorClass.RateLimited, true, 5, false, 0, TimeSpan.FromSeconds(20)));
        for (var silo = 0; silo < 3; silo++)
        {
            var gate = fx.Gates[silo];
            await Eventually(() => gate.Unavailable(p) is { } r && r.Contains("paused", StringComparison.Ordinal), $"silo {silo} sees the pause");

            // A refusal for the pause is the upstream's rate limit, retryable when the pause ends: not an unavailable provider.
            var refusal = gate.Closed(p);
            Assert.Equal(ProviderErrorClass.RateLimited, refusal?.Class);
            Assert.NotNull(refusal?.RetryAt);
        }

        fx.Clock.Advance(TimeSpan.FromSeconds(21));
        Assert.All(fx.Gates, g => Assert.Null(g.Unavailable(p)));
    }

    [Fact]
    public async Task Admission_on_a_warm_silo_makes_no_remote_grain_call()
    {
        foreach (var id in new[] { "warm", "warmlimited" })
        {
            await fx.Gates[1].Complete(await Admit(1, id), Success); // warm up: subscribe and take a lease
        }

        var before = ProviderClusterFixture.ProviderGrainCalls.Where(kv => kv.Key != "ReportAsync").Sum(kv => kv.Value);
        for (var i = 0; i < 50; i++)
        {
            var (a, _) = await fx.Gates[1].AdmitAsync(fx.Provider("warm"), 10);
            var (b, _) = await fx.Gates[1].AdmitAsync(fx.Provider("warmlimited"), 10);
            Assert.NotNull(a);
            Assert.NotNull(b);
        }

        var after = ProviderClusterFixture.ProviderGrainCalls.Where(kv => kv.Key != "ReportAsync").Sum(kv => kv.Value);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task A_provider_disabled_at_run_time_is_unavailable_on_every_silo_until_enabled()
    {
        var p = fx.Provider("switch");
        for (var silo = 0; silo < 3; silo++)
        {
            await fx.Gates[silo].Complete(await Admit(silo, "switch"), Success);
        }

        var grain = fx.Cluster.Client.GetGrain<IProviderGrain>("switch");
        await grain.SetEnabledAsync(false);
        await Eventually(() => fx.Gates.All(g => g.Unavailable(p) is { } r && r.Contains("disabled", StringComparison.Ordinal)), "disabled everywhere");
        await grain.SetEnabledAsync(true);
        await Eventually(() => fx.Gates.All(g => g.Unavailable(p) is null), "enabled everywhere");
    }

    [Fact]
    public async Task An_open_breaker_survives_deactivation_of_its_grain()
    {
        await fx.Gates[0].Complete(await Admit(0, "durable"), Failure);
        await fx.Gates[0].Complete(await Admit(0, "durable"), Failure);
        var grain = fx.Cluster.Client.GetGrain<IProviderGrain>("durable");
        var open = await grain.GetSnapshotAsync();
        Assert.Equal(ProviderCircuitState.Open, open.State);

        await fx.Cluster.DeactivateAsync(grain);
        await fx.Cluster.WaitForDeactivationAsync(grain);
        var after = await grain.GetSnapshotAsync();
        Assert.Equal(ProviderCircuitState.Open, after.State);
        Assert.Equal(open.OpenUntil, after.OpenUntil);
    }
}
