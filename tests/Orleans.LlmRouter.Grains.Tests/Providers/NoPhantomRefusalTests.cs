using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Tests.Providers;

/// <summary>
/// Issue 32: a provider, model-scope or deployment limit refuses a call only when the cluster-wide figure is reached.
/// Sustained concurrent load through the three silos' gates at 10 % of a limit or less gets no refusal in 50,000
/// admissions; at 100 % the admitted count per minute equals the limit within the lease bound.
/// </summary>
[Collection(ProviderClusterCollection.Name)]
public sealed class NoPhantomRefusalTests(ProviderClusterFixture fx)
{
    private static readonly ProviderOutcome Success = new(true, null, false, 1, false, 0, null);

    private const int Callers = 32;

    /// <summary>
    /// <paramref name="callers"/> concurrent callers spread over the three silos, each admitting and completing calls
    /// one after the other until <paramref name="total"/> were tried; returns the refusals (reason and count).
    /// <paramref name="between"/> runs after every admission (a fake-clock tick, for instance).
    /// </summary>
    private async Task<(int Admitted, Dictionary<string, int> Refusals)> Load(
        Func<ProviderGate, ValueTask<(Func<ValueTask>? Complete, string? Denied)>> admit, int total, int callers = Callers, Action<int>? between = null)
    {
        var refusals = new Dictionary<string, int>(StringComparer.Ordinal);
        var admitted = 0;
        var next = 0;
        var workers = Enumerable.Range(0, callers).Select(w => Task.Run(async () =>
        {
            var gate = fx.Gates[w % fx.Gates.Count];
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i > total)
                {
                    return;
                }

                var (complete, denied) = await admit(gate);
                if (complete is null)
                {
                    lock (refusals)
                    {
                        refusals[denied ?? "?"] = refusals.GetValueOrDefault(denied ?? "?") + 1;
                    }
                }
                else
                {
                    Interlocked.Increment(ref admitted);
                    if ((i & 1) == 0)
                    {
                        await Task.Yield(); // let other callers in while this one holds its permit
                    }

                    await complete();
                }

                between?.Invoke(i);
            }
        }, TestContext.Current.CancellationToken)).ToList();
        await Task.WhenAll(workers);

        // Give-backs run in the background: let them reach the grains, so no grain call of this test lands in the next.
        for (var i = 0; i < 400 && !fx.Gates.All(g => g.SlotTrafficIdle); i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.True(fx.Gates.All(g => g.SlotTrafficIdle), "slot give-backs still in flight after 4 s");
        return (admitted, refusals);
    }

    private Func<ProviderGate, ValueTask<(Func<ValueTask>? Complete, string? Denied)>> Provider(string id, long tokens = 10)
    {
        var p = fx.Provider(id);
        return async gate =>
        {
            var (permit, denied) = await gate.AdmitAsync(p, tokens);
            return permit is null ? (null, denied) : (() => gate.Complete(permit, Success), null);
        };
    }

    private Func<ProviderGate, ValueTask<(Func<ValueTask>? Complete, string? Denied)>> Scoped(string providerId, ModelDefinition model, long tokens = 10)
    {
        var p = fx.Provider(providerId);
        return async gate =>
        {
            var (permit, denied) = await gate.AdmitAsync(p, model, tokens);
            return permit is null ? (null, denied) : (() => gate.Complete(permit, Success), null);
        };
    }

    private static string Describe(Dictionary<string, int> refusals) =>
        string.Join("; ", refusals.Select(kv => $"{kv.Value} x {kv.Key}"));

    private void StartOfMinute() =>
        fx.Clock.Advance(TimeSpan.FromSeconds(60 - (fx.Clock.GetUtcNow().ToUnixTimeSeconds() % 60)));

    [Fact]
    public async Task Max_concurrency_4096_never_refuses_32_concurrent_callers()
    {
        // The measurement: max_concurrency 4096, 32 callers, calls refused "at its max concurrency".
        var (admitted, refusals) = await Load(Provider("conc4096"), 50_000);
        Assert.True(refusals.Count == 0, Describe(refusals));
        Assert.Equal(50_000, admitted);
    }

    [Fact]
    public async Task Max_concurrency_at_ten_percent_never_refuses_and_every_slot_comes_back()
    {
        var (admitted, refusals) = await Load(Provider("conc320"), 50_000);
        Assert.True(refusals.Count == 0, Describe(refusals));
        Assert.Equal(50_000, admitted);
        await fx.Gates[0].FlushAllAsync();
    }

    /// <summary>One fake second every 500 admissions: 50,000 admissions span 100 s (two minute boundaries), 30,000 a minute.</summary>
    private void Tick(int i)
    {
        if (i % 500 == 0)
        {
            fx.Clock.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Theory]
    [InlineData("rpmload")] // rpm 600,000: 5 % of it
    [InlineData("tpmload")] // tpm 6,000,000 at 10 tokens a call: 5 % of it
    public async Task Provider_rpm_and_tpm_at_five_percent_never_refuse_across_minute_boundaries(string provider)
    {
        StartOfMinute();
        var (admitted, refusals) = await Load(Provider(provider), 50_000, between: Tick);
        Assert.True(refusals.Count == 0, Describe(refusals));
        Assert.Equal(50_000, admitted);
    }

    [Fact]
    public async Task A_models_own_rpm_tpm_and_concurrency_at_five_percent_never_refuse()
    {
        StartOfMinute();
        var (admitted, refusals) = await Load(Scoped("loadscoped", fx.Model("m-rpmload")), 50_000, between: Tick);
        Assert.True(refusals.Count == 0, Describe(refusals));
        Assert.Equal(50_000, admitted);
    }

    [Fact]
    public async Task A_deployments_own_rpm_tpm_and_concurrency_at_five_percent_never_refuse()
    {
        var view = fx.Catalog.DeploymentsOf(fx.Model("m-deployed"))[0];
        StartOfMinute();
        var (admitted, refusals) = await Load(Scoped(fx.Catalog.ProviderOf(view).Id, view), 50_000, between: Tick);
        Assert.True(refusals.Count == 0, Describe(refusals));
        Assert.Equal(50_000, admitted);
    }

    [Fact]
    public async Task At_the_rpm_limit_each_minute_admits_the_limit_within_the_lease_bound_across_three_silos()
    {
        const int rpm = 6000;
        var chunk = rpm / ProviderGate.LeaseFraction;
        for (var minute = 0; minute < 2; minute++)
        {
            StartOfMinute();
            var (admitted, refusals) = await Load(Provider("rpmfull"), rpm + 2000);
            Assert.InRange(admitted, rpm - (fx.Gates.Count * chunk), rpm);
            Assert.All(refusals.Keys, r => Assert.Contains("rate limit (rpm)", r, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task At_the_tpm_limit_each_minute_admits_the_limit_within_the_lease_bound_across_three_silos()
    {
        const int tpm = 60_000;
        var chunk = tpm / ProviderGate.LeaseFraction;
        for (var minute = 0; minute < 2; minute++)
        {
            StartOfMinute();
            var (admitted, refusals) = await Load(Provider("tpmfull", 10), 8000);
            Assert.InRange(admitted * 10L, tpm - (fx.Gates.Count * chunk), tpm);
            Assert.All(refusals.Keys, r => Assert.Contains("rate limit (tpm)", r, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task At_max_concurrency_no_more_run_than_the_limit_cluster_wide()
    {
        const int max = 32;
        var p = fx.Provider("conc32");
        var inFlight = 0;
        var peak = 0;
        var lowestAtRefusal = int.MaxValue;
        var (admitted, refusals) = await Load(async gate =>
        {
            var (permit, denied) = await gate.AdmitAsync(p, 1);
            if (permit is null)
            {
                var now = Volatile.Read(ref inFlight);
                InterlockedMin(ref lowestAtRefusal, now);
                return (null, denied);
            }

            var n = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, n);
            return (async () =>
            {
                await Task.Yield();
                Interlocked.Decrement(ref inFlight);
                await gate.Complete(permit, Success);
            }, null);
        }, 50_000, callers: 3 * max);

        Assert.True(admitted > 0);
        Assert.InRange(peak, 1, max); // never more than the limit in flight cluster-wide
        Assert.All(refusals.Keys, r => Assert.Contains("max concurrency", r, StringComparison.Ordinal));
        // How few calls were in flight at a refusal is not asserted here: this counter drops before a slot is released,
        // so it reads low. The early side is held by A_silo_short_of_slots_gets_the_ones_another_silo_holds_idle_….
        TestContext.Current.TestOutputHelper?.WriteLine($"admitted {admitted}, fewest counted in flight at a refusal: {lowestAtRefusal}");
    }

    [Fact]
    public async Task A_silo_short_of_slots_gets_the_ones_another_silo_holds_idle_instead_of_a_refusal()
    {
        // Silo 0 leases all 16 slots and keeps 4 idle after four of its calls end (a silo keeps up to two chunks idle).
        const int max = 16;
        var p = fx.Provider("slotidle");
        var held = new List<(ProviderGate Gate, ProviderPermit Permit)>();
        for (var i = 0; i < max; i++)
        {
            var (permit, denied) = await fx.Gates[0].AdmitAsync(p, 1);
            Assert.True(permit is not null, denied);
            held.Add((fx.Gates[0], permit));
        }

        for (var i = 0; i < 4; i++)
        {
            await held[0].Gate.Complete(held[0].Permit, Success);
            held.RemoveAt(0);
        }

        try
        {
            // 12 of 16 in flight cluster-wide: the other silos' calls are admitted with the slots silo 0 holds idle.
            for (var i = 0; i < 4; i++)
            {
                var gate = fx.Gates[1 + (i % 2)];
                var (permit, denied) = await gate.AdmitAsync(p, 1);
                Assert.True(permit is not null, $"call {i} refused with {12 + i} of {max} in flight cluster-wide: {denied}");
                held.Add((gate, permit));
            }

            // All 16 in flight: the limit still holds.
            var (over, refused) = await fx.Gates[1].AdmitAsync(p, 1);
            Assert.Null(over);
            Assert.Contains("max concurrency (16)", refused, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var (gate, permit) in held)
            {
                await gate.Complete(permit, Success);
            }
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) > value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
