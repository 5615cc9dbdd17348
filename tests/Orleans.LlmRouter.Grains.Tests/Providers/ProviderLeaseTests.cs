using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Tests.Providers;

/// <summary>Probes, slots and rate-lease tokens come back to the cluster however the call that held them ended.</summary>
[Collection(ProviderClusterCollection.Name)]
public sealed class ProviderLeaseTests(ProviderClusterFixture fx)
{
    private static readonly ProviderOutcome Failure = new(false, ProviderErrorClass.Server, true, 10, false, 0, null);

    private async Task<ProviderPermit> Admit(int silo, string provider, long tokens = 10)
    {
        var (permit, denied) = await fx.Gates[silo].AdmitAsync(fx.Provider(provider), tokens);
        Assert.True(permit is not null, denied);
        return permit!;
    }

    private async Task OpenAndWaitForProbe(string provider)
    {
        await fx.Gates[0].Complete(await Admit(0, provider), Failure);
        await fx.Gates[1].Complete(await Admit(1, provider), Failure);
        Assert.Equal(ProviderCircuitState.Open, (await fx.Cluster.Client.GetGrain<IProviderGrain>(provider).GetSnapshotAsync()).State);
        fx.Clock.Advance(TimeSpan.FromSeconds(31));
    }

    [Fact]
    public async Task A_probe_cancelled_by_its_caller_is_released_and_does_not_close_the_breaker()
    {
        await OpenAndWaitForProbe("probecancel");
        var probe = await Admit(2, "probecancel");
        Assert.True(probe.IsProbe);

        // What the router reports when the caller went away before the provider answered.
        await fx.Gates[2].Complete(probe, new ProviderOutcome(false, ProviderErrorClass.Cancelled, false, 5, true, 0, null));
        Assert.Equal(ProviderCircuitState.HalfOpen, (await fx.Cluster.Client.GetGrain<IProviderGrain>("probecancel").GetSnapshotAsync()).State);

        // The probe is free again at once (not after another break period).
        var next = await Admit(0, "probecancel");
        Assert.True(next.IsProbe);
    }

    [Fact]
    public async Task A_probe_granted_then_refused_by_the_rate_limit_is_released()
    {
        await OpenAndWaitForProbe("probetpm");
        var (refused, denied) = await fx.Gates[0].AdmitAsync(fx.Provider("probetpm"), 5000); // more than the tpm
        Assert.Null(refused);
        Assert.Contains("rate limit", denied, StringComparison.Ordinal);

        var probe = await Admit(0, "probetpm"); // the same silo: it holds what the refused call leased
        Assert.True(probe.IsProbe);
    }

    [Fact]
    public async Task Slots_of_a_holder_that_stops_renewing_come_back_and_a_living_holder_keeps_its_own()
    {
        var grain = fx.Cluster.Client.GetGrain<IProviderGrain>("slotlease");
        Assert.Equal(2, await grain.AcquireSlotsAsync("silo-that-dies", 2));
        var (blocked, denied) = await fx.Gates[0].AdmitAsync(fx.Provider("slotlease"), 1);
        Assert.Null(blocked);
        Assert.Contains("max concurrency", denied, StringComparison.Ordinal);

        fx.Clock.Advance(TimeSpan.FromSeconds(31)); // ProviderGrain.SlotLease is 30 s
        Assert.Equal(0, (await grain.GetHealthAsync()).ConcurrencySlotsLeased);
        var permit = await Admit(0, "slotlease");

        // This silo's gate renews the slot it holds: it survives lease terms while the call runs.
        for (var i = 0; i < 4; i++)
        {
            fx.Clock.Advance(TimeSpan.FromSeconds(11));
            await fx.Gates[0].RenewSlotsAsync();
        }

        Assert.Equal(1, (await grain.GetHealthAsync()).ConcurrencySlotsLeased);
        await fx.Gates[0].Complete(permit, new ProviderOutcome(true, null, false, 1, false, 0, null));
    }

    [Fact]
    public async Task Tokens_a_call_did_not_use_go_back_to_this_minutes_lease()
    {
        var now = fx.Clock.GetUtcNow();
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60) + 1)); // early in a fresh minute
        var first = await Admit(0, "tpmrefund", 900);
        await fx.Gates[0].Complete(first, new ProviderOutcome(true, null, false, 1, false, 30 - 900, null)); // used 30

        // Worst-case 900 again: fits only because the 870 unused tokens came back.
        var second = await Admit(0, "tpmrefund", 900);
        await fx.Gates[0].Complete(second, new ProviderOutcome(true, null, false, 1, false, 0, null));
    }
}
