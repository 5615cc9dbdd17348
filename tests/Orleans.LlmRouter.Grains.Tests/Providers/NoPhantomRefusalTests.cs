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
}
