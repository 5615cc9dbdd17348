using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Core.Internal;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Ledger;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>One silo whose grain storage serializes a state only after the write has started (as ADO.NET does).</summary>
public sealed class BudgetPersistenceFixture : IAsyncLifetime
{
    internal InMemoryLedger Ledger { get; } = new();

    internal HeldWriteStorage Storage { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var catalog = new CatalogLoader(environment: _ => null).Load([("budgets.yaml", """
            providers:
              - { id: sim, type: simulated }
            models:
              - { name: m, provider: sim, provider_model: m-1, capabilities: [chat], context_window: 100000, max_output_tokens: 100, pricing: { input: 1, output: 1 } }
            actions:
              - name: chat
                strategies:
                  default: [m]
            tenants:
              - { id: persisted }
              - id: plevels
                projects: [ { id: app } ]
                keys: [ { id: k1, hash: "sha256:0000000000000000000000000000000000000000000000000000000000000001", project: app } ]
                end_users: { alice: { budgets: { tokens: { lifetime: 100000 } } } }
            """)]).Catalog;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddGrainStorage("Default", (sp, _) => Storage = new HeldWriteStorage(sp.GetRequiredService<Serializer>()));
            silo.Services.AddSingleton(new RouterClock(new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero))));
            silo.Services.AddSingleton<ILedger>(Ledger);
            silo.Services.AddLlmRouterGrains(catalog);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>
/// B2 across a crash: the state a budget grain persists holds counters over exactly the ledger rows up to the position
/// it persists with them, whatever the grain does while the write is under way; a new activation that starts from it
/// and reads the rows after that position counts every row once.
/// </summary>
public sealed class BudgetPersistenceTests(BudgetPersistenceFixture fx) : IClassFixture<BudgetPersistenceFixture>
{
    private static UsageRecord Usage(string id, long prompt, long completion) =>
        new(id, "sim", "m", new TokenUsage(prompt, completion), 0.001m, true) { CompletedAt = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero) };

    [Fact]
    public async Task A_settle_during_a_state_write_is_counted_after_a_crash_that_follows_the_write()
    {
        var grain = fx.Cluster.Client.GetTenantBudget("persisted");
        var hold = fx.Storage.HoldNextWriteThenFail(grain.GetGrainId());

        Assert.True(await grain.SettleAsync(null, Usage("before-write", 10, 5)));
        await hold.Reached.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken); // the flush timer's write has begun

        Assert.True(await grain.SettleAsync(null, Usage("during-write", 20, 10))); // settles while the write is under way
        hold.Release.SetResult(); // the write is stored; the silo dies right after: nothing later is written

        await grain.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var lifetime = (await grain.GetUsageAsync()).Windows.Single(w => w.Window == "lifetime"); // a new activation

        Assert.Equal(45L, lifetime.Tokens);
        Assert.Equal(0.002m, lifetime.CostUsd);
        fx.Storage.FailWrites = false;
    }

    [Fact]
    public async Task Level_counters_survive_a_reactivation_and_a_crash_before_the_state_write_equal_to_the_ledger()
    {
        var grain = fx.Cluster.Client.GetTenantBudget("plevels");
        UsageRecord Leveled(string id, string? user) => Usage(id, 10, 5) with { ProjectId = "app", KeyId = "k1", EndUser = user };

        Assert.True(await grain.SettleAsync(null, Leveled("l1", "alice")));
        Assert.True(await grain.SettleAsync(null, Leveled("l2", "bob"))); // bob has no budget: no counters of his own
        await grain.Cast<IGrainManagementExtension>().DeactivateOnIdle(); // a graceful stop: the state is written
        var levels = (await grain.GetUsageAsync()).Levels.ToDictionary(l => (l.Level, l.Id), l => l.Windows.Single(w => w.Window == "lifetime").Tokens);
        Assert.Equal(30L, levels[(BudgetLevels.Project, "app")]);
        Assert.Equal(30L, levels[(BudgetLevels.Key, "k1")]);
        Assert.Equal(15L, levels[(BudgetLevels.EndUser, "alice")]);
        Assert.DoesNotContain((BudgetLevels.EndUser, "bob"), levels.Keys);

        fx.Storage.FailWrites = true; // the silo "dies" before these settles reach the state: the ledger has them
        try
        {
            Assert.True(await grain.SettleAsync(null, Leveled("l3", "alice")));
            await grain.Cast<IGrainManagementExtension>().DeactivateOnIdle();
            var after = (await grain.GetUsageAsync()).Levels.ToDictionary(l => (l.Level, l.Id), l => l.Windows.Single(w => w.Window == "lifetime").Tokens);
            Assert.Equal(45L, after[(BudgetLevels.Project, "app")]);
            Assert.Equal(45L, after[(BudgetLevels.Key, "k1")]);
            Assert.Equal(30L, after[(BudgetLevels.EndUser, "alice")]);
        }
        finally
        {
            fx.Storage.FailWrites = false;
        }
    }
}
