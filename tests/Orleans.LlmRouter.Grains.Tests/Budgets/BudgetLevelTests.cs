using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>
/// Budgets and limits below the tenant (project, key, end user), through the router grain on three silos. Each
/// refusal test names the level whose check it needs: deleting that level's check in the budget grain makes it fail.
/// </summary>
[Collection(BudgetClusterCollection.Name)]
public sealed class BudgetLevelTests(BudgetClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 100 };

    private static RouterContext For(string tenant, string? key = null, string? user = null, string? project = null, string model = "cheap") =>
        new(tenant) { Model = model, KeyId = key, EndUser = user, ProjectId = project };

    private ITenantBudgetGrain Budget(string tenant) => fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant));

    /// <summary>Calls until a budget refuses; returns the refusal (the test fails when none comes within 50 calls).</summary>
    private async Task<BudgetExceededException> SpendUntilRefused(RouterContext context)
    {
        for (var i = 0; i < 50; i++)
        {
            try
            {
                await Router.CompleteAsync(Ask($"spend call {i} for {context.KeyId} {context.EndUser}"), context with { RequestId = Guid.NewGuid().ToString("N") });
            }
            catch (BudgetExceededException ex)
            {
                return ex;
            }
        }

        throw new Xunit.Sdk.XunitException("no budget refused within 50 calls");
    }

    private static long Lifetime(IReadOnlyList<WindowUsage> windows) => windows.Single(w => w.Window == "lifetime").Tokens;

    [Fact]
    public async Task A_key_budget_refuses_at_the_key_and_names_it()
    {
        // The project 'wide' also holds key k-rpm, which another test of this collection spends on.
        var projectBefore = (await Budget("lvl").GetUsageAsync()).Levels.FirstOrDefault(l => l.Level == BudgetLevels.Project && l.Id == "wide") is { } wide ? Lifetime(wide.Windows) : 0;
        var refusal = await SpendUntilRefused(For("lvl", key: "k-small"));
        Assert.Equal((BudgetLevels.Key, "k-small", "lifetime"), (refusal.Level, refusal.LevelId, refusal.Window));
        var usage = await Budget("lvl").GetUsageAsync();
        var key = usage.Levels.Single(l => l.Level == BudgetLevels.Key && l.Id == "k-small");
        Assert.InRange(Lifetime(key.Windows), 1, 300);
        Assert.NotNull(key.LastUsedAt);
        // The key's project counted the same calls; another key of the tenant still works.
        Assert.Equal(Lifetime(key.Windows), Lifetime(usage.Levels.Single(l => l.Level == BudgetLevels.Project && l.Id == "wide").Windows) - projectBefore);
        await Router.CompleteAsync(Ask("another key"), For("lvl", key: "k-free"));
    }

    [Fact]
    public async Task A_project_budget_refuses_at_the_project_for_a_key_without_a_budget_of_its_own()
    {
        var refusal = await SpendUntilRefused(For("lvl", key: "k-app"));
        Assert.Equal((BudgetLevels.Project, "app"), (refusal.Level, refusal.LevelId));
        Assert.InRange(Lifetime((await Budget("lvl").GetUsageAsync()).Levels.Single(l => l.Id == "app").Windows), 1, 600);
    }

    [Fact]
    public async Task A_budgeted_end_user_is_refused_as_the_end_user_while_others_go_on()
    {
        var refusal = await SpendUntilRefused(For("lvl", key: "k-free", user: "alice"));
        Assert.Equal((BudgetLevels.EndUser, "alice"), (refusal.Level, refusal.LevelId));
        await Router.CompleteAsync(Ask("carol has no budget"), For("lvl", key: "k-free", user: "carol"));
        var usage = await Budget("lvl").GetUsageAsync();
        Assert.DoesNotContain(usage.Levels, l => l.Id == "carol"); // an end user without settings costs no counters
        var rows = await fx.Ledger.QueryAsync(new UsageQuery("lvl"), TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Contains(rows, r => r.EndUser == "carol" && r.KeyId == "k-free"); // but is on its ledger row
    }

    [Fact]
    public async Task The_tenant_budget_still_refuses_as_the_tenant()
    {
        var refusal = await SpendUntilRefused(For("lvt", key: "k-t"));
        Assert.Equal((BudgetLevels.Tenant, "lvt"), (refusal.Level, refusal.LevelId));
    }

    [Fact]
    public async Task Per_minute_limits_of_a_key_and_of_an_end_user_refuse_at_their_level_and_refill()
    {
        await Router.CompleteAsync(Ask("one"), For("lvl", key: "k-rpm"));
        await Router.CompleteAsync(Ask("two"), For("lvl", key: "k-rpm"));
        var limited = await Assert.ThrowsAsync<TenantRateLimitedException>(() => Router.CompleteAsync(Ask("three"), For("lvl", key: "k-rpm")));
        Assert.Equal((BudgetLevels.Key, "k-rpm", "rpm"), (limited.Level, limited.LevelId, limited.Limit));

        await Router.CompleteAsync(Ask("bob once"), For("lvl", key: "k-free", user: "bob"));
        var user = await Assert.ThrowsAsync<TenantRateLimitedException>(() => Router.CompleteAsync(Ask("bob twice"), For("lvl", key: "k-free", user: "bob")));
        Assert.Equal((BudgetLevels.EndUser, "bob"), (user.Level, user.LevelId));

        fx.Clock.Advance(TimeSpan.FromMinutes(1));
        await Router.CompleteAsync(Ask("a new minute"), For("lvl", key: "k-rpm"));
        await Router.CompleteAsync(Ask("bob again"), For("lvl", key: "k-free", user: "bob"));
    }

    [Fact]
    public async Task A_key_narrowed_to_some_models_cannot_use_others_and_unknown_levels_are_the_callers_error()
    {
        var refused = await Assert.ThrowsAsync<AllModelsFailedException>(() => Router.CompleteAsync(Ask("pricey please"), For("lvl", key: "k-models", model: "pricey")));
        Assert.Contains("not allowed for this key", refused.Message, StringComparison.Ordinal);
        await Router.CompleteAsync(Ask("cheap is fine"), For("lvl", key: "k-models"));

        Assert.Equal("key", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), For("lvl", key: "no-such-key")))).Param);
        Assert.Equal("project", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), For("lvl", project: "no-such-project")))).Param);
        Assert.Equal("project", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), For("lvl", key: "k-app", project: "wide")))).Param);
        Assert.Equal("user", (await Assert.ThrowsAsync<InvalidRoutingException>(() => Router.CompleteAsync(Ask("x"), For("lvl", user: "bad\u0001user")))).Param);
    }

    [Fact]
    public async Task B1_per_level_two_hundred_concurrent_calls_from_three_silos_settle_no_level_past_its_limit_and_counters_equal_the_ledger()
    {
        var keys = new[] { "ka", "kb" };
        var users = new[] { "u1", "u2", "u3" }; // u3 has no budget of its own
        var refusals = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            try
            {
                await Router.CompleteAsync(Ask($"concurrent level call {i}"), For("lvc", key: keys[i % 2], user: users[i % 3]));
                return null;
            }
            catch (BudgetExceededException ex)
            {
                return ex;
            }
        }));

        var usage = await Budget("lvc").GetUsageAsync();
        var limits = new Dictionary<(string, string), long>
        {
            [(BudgetLevels.Project, "p")] = 6000, [(BudgetLevels.Key, "ka")] = 2500, [(BudgetLevels.Key, "kb")] = 4000,
            [(BudgetLevels.EndUser, "u1")] = 1500, [(BudgetLevels.EndUser, "u2")] = 2000,
        };
        var rows = await fx.Ledger.QueryAsync(new UsageQuery("lvc"), TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        foreach (var ((level, id), limit) in limits)
        {
            var counters = usage.Levels.Single(l => l.Level == level && l.Id == id);
            var used = Lifetime(counters.Windows);
            Assert.True(used <= limit, $"{level} {id} settled {used} tokens over its {limit} limit");
            Assert.Equal(0, counters.ReservationsInFlight);
            var ledger = rows.Where(r => level switch { BudgetLevels.Project => r.ProjectId == id, BudgetLevels.Key => r.KeyId == id, _ => r.EndUser == id }).Sum(r => r.TotalTokens);
            Assert.Equal(ledger, used); // each level's counters are a cache of its ledger rows
        }

        Assert.Contains(refusals, r => r is not null); // some level was reached
        Assert.All(refusals.Where(r => r is not null), r => Assert.Contains((r!.Level, r.LevelId), limits.Keys));
        Assert.Equal(rows.Sum(r => r.TotalTokens), Lifetime(usage.Windows));
        Assert.Equal(0, usage.ReservationsInFlight);
    }

    [Fact]
    public async Task Key_expiry_rotation_overlap_and_revocation_hold_on_every_silo()
    {
        var registry = fx.Cluster.Client.GetGrain<ITenantRegistryGrain>("registry");
        var tenant = "keys-" + Guid.NewGuid().ToString("N")[..8];
        await registry.PutAsync(new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { LifetimeTokens = 1000 } }, create: true);
        await registry.PutProjectAsync(tenant, new ProjectSettings { Id = "app", Budgets = new TenantBudgetLimits { LifetimeTokens = 500 } }, create: true);
        var now = fx.Clock.GetUtcNow();
        var expiring = await registry.IssueKeyAsync(tenant, new KeySettings { Project = "app", ExpiresAt = now.AddHours(1) });
        var rotating = await registry.IssueKeyAsync(tenant, new KeySettings { Label = "rotating" });
        var directories = fx.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<TenantDirectory>()).ToList();
        fx.Clock.Advance(TenantDirectory.Staleness + TimeSpan.FromSeconds(1)); // each silo's view is stale: its next lookup subscribes anew

        async Task<bool[]> Opens(string key) => await Task.WhenAll(directories.Select(async d => await d.ResolveKeyAsync(key) is not null));

        // A change reaches the other silos by the registry's one-way push: wait for it (a liveness bound, not a timing).
        async Task Pushed(string key, bool open)
        {
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!(await Opens(key)).All(o => o == open) && DateTime.UtcNow < until)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            Assert.All(await Opens(key), o => Assert.Equal(open, o));
        }

        Assert.All(await Opens(expiring.Key), Assert.True);
        var resolved = await directories[1].ResolveKeyAsync(expiring.Key);
        Assert.Equal(("app", expiring.KeyId), (resolved!.Key!.ProjectId, resolved.Key.Id));

        var rotated = await registry.RotateKeyAsync(tenant, rotating.KeyId, TimeSpan.FromMinutes(30));
        Assert.Equal(rotating.KeyId, rotated.KeyId); // same key, same counters: only the secret changed
        await Pushed(rotated.Key, open: true);
        Assert.All(await Opens(rotated.Key), Assert.True);
        Assert.All(await Opens(rotating.Key), Assert.True); // the old secret works during the overlap

        fx.Clock.Advance(TimeSpan.FromMinutes(31));
        Assert.All(await Opens(rotating.Key), Assert.False);
        Assert.All(await Opens(rotated.Key), Assert.True);

        fx.Clock.Advance(TimeSpan.FromMinutes(30)); // past the first key's expiry
        Assert.All(await Opens(expiring.Key), Assert.False);

        await registry.RevokeKeyAsync(tenant, rotated.KeyId); // pushed to every subscribed silo
        await Pushed(rotated.Key, open: false);

        var zero = await registry.IssueKeyAsync(tenant, new KeySettings());
        var stopped = await registry.RotateKeyAsync(tenant, zero.KeyId, TimeSpan.Zero);
        await Pushed(stopped.Key, open: true);
        Assert.All(await Opens(zero.Key), Assert.False);
    }

    [Fact]
    public async Task A_child_limit_above_its_parents_is_refused_naming_both()
    {
        var registry = fx.Cluster.Client.GetGrain<ITenantRegistryGrain>("registry");
        var tenant = "narrow-" + Guid.NewGuid().ToString("N")[..8];
        await registry.PutAsync(new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { DailyTokens = 1000 }, RequestsPerMinute = 10, AllowedModels = ["cheap", "pricey"] }, create: true);

        var project = await Assert.ThrowsAsync<TenantRegistryException>(() => registry.PutProjectAsync(tenant, new ProjectSettings { Id = "big", Budgets = new TenantBudgetLimits { DailyTokens = 2000 } }, create: true));
        Assert.Equal("invalid", project.Kind);
        Assert.Contains("project 'big'", project.Message, StringComparison.Ordinal);
        Assert.Contains($"tenant '{tenant}'", project.Message, StringComparison.Ordinal);

        await registry.PutProjectAsync(tenant, new ProjectSettings { Id = "app", Budgets = new TenantBudgetLimits { DailyTokens = 500 }, AllowedModels = ["cheap"] }, create: true);
        var key = await Assert.ThrowsAsync<TenantRegistryException>(() => registry.IssueKeyAsync(tenant, new KeySettings { Project = "app", Budgets = new TenantBudgetLimits { DailyTokens = 600 } }));
        Assert.Contains("project 'app'", key.Message, StringComparison.Ordinal);
        var model = await Assert.ThrowsAsync<TenantRegistryException>(() => registry.IssueKeyAsync(tenant, new KeySettings { Project = "app", AllowedModels = ["pricey"] }));
        Assert.Contains("model 'pricey' is not allowed for project 'app'", model.Message, StringComparison.Ordinal);
        var rpm = await Assert.ThrowsAsync<TenantRegistryException>(() => registry.PutEndUserAsync(tenant, "eve", new EndUserSettings { RequestsPerMinute = 11 }));
        Assert.Contains("end user 'eve'", rpm.Message, StringComparison.Ordinal);

        // A parent may not be narrowed below its children either.
        var parent = await Assert.ThrowsAsync<TenantRegistryException>(() => registry.PutAsync(new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { DailyTokens = 400 } }, create: false));
        Assert.Contains("project 'app'", parent.Message, StringComparison.Ordinal);
        Assert.Equal(404, (await Assert.ThrowsAsync<TenantRegistryException>(() => registry.IssueKeyAsync(tenant, new KeySettings { Project = "nope" }))).Kind == "not_found" ? 404 : 0);
    }
}
