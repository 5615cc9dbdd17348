using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

/// <summary>
/// Everything a call holds — reservation, concurrency slot — comes back whatever ends the call, and what the provider
/// answered is billed: adapter crashes, structured-output rejects, streams without usage, expired holders, tpm windows.
/// </summary>
[Collection(BudgetClusterCollection.Name)]
public sealed class HeldResourcesTests(BudgetClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private ITenantBudgetGrain Budget(string tenant) => fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant));

    private static ChatRequest Ask(string text, int? maxTokens = 100) =>
        new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = maxTokens };

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail("timed out waiting for: " + what);
    }

    private async Task<List<LedgerRecord>> Rows(string tenant)
    {
        var rows = new List<LedgerRecord>();
        await foreach (var row in fx.Ledger.ReadAfterAsync(tenant, 0, TestContext.Current.CancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task An_adapter_crash_falls_back_and_gives_back_the_slot_and_the_reservation()
    {
        for (var i = 0; i < 3; i++)
        {
            // More crashes than the provider's max_concurrency (2): a leaked slot would refuse the next calls.
            var c = await Router.CompleteAsync(Ask($"crash {i} [simulate:crash@guarded-1]"), new RouterContext("crash") { Action = "guardchain" });
            Assert.Equal("cheap", c.Model);
            Assert.Equal(["guarded", "cheap"], c.Attempts.Select(a => a.Model));
            Assert.Equal(ProviderErrorClass.UpstreamInvalidResponse, c.Attempts[0].ErrorClass);
        }

        await using (var stream = Router.StreamAsync(Ask("stream crash [simulate:crash@guarded-1]"), new RouterContext("crash") { Action = "guardchain" }).GetAsyncEnumerator(TestContext.Current.CancellationToken))
        {
            Assert.True(await stream.MoveNextAsync());
            Assert.Equal("cheap", stream.Current.Model);
            while (await stream.MoveNextAsync())
            {
            }
        }

        await Eventually(async () => (await fx.Cluster.Client.GetGrain<IProviderGrain>("conc").GetHealthAsync()).ConcurrencySlotsLeased == 0, "slots back at the provider grain");
        Assert.Equal(0, (await Budget("crash").GetUsageAsync()).ReservationsInFlight);
        var healthy = await Router.CompleteAsync(Ask("now fine"), new RouterContext("crash") { Model = "guarded" });
        Assert.Equal("guarded", healthy.Model);
    }

    [Fact]
    public async Task Output_rejected_by_structured_output_validation_is_billed_as_a_failed_attempt()
    {
        var schema = """{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""";
        var request = new ChatRequest([RouterMessage.FromText("user", "json please [simulate:invalid_json@json-a-1]")])
        {
            MaxOutputTokens = 50,
            ResponseFormat = new ResponseFormat(ResponseFormatKind.JsonSchema, "a", schema),
        };
        var context = new RouterContext("billv") { Action = "jsonchain" };
        var c = await Router.CompleteAsync(request, context);
        Assert.Equal("json-b", c.Model);

        var rows = await Rows("billv");
        var rejected = Assert.Single(rows, r => r.RequestId == context.RequestId + "/1");
        Assert.False(rejected.Success);
        Assert.Equal("structured_output", rejected.ErrorClass);
        Assert.Equal("json-a", rejected.Model);
        Assert.True(rejected.CompletionTokens > 0);
        Assert.Equal(((rejected.PromptTokens * 3m) + (rejected.CompletionTokens * 7m)) / 1_000_000m, rejected.CostUsd);
        var served = Assert.Single(rows, r => r.RequestId == context.RequestId);
        Assert.True(served.Success);

        var lifetime = (await Budget("billv").GetUsageAsync()).Windows.Single(w => w.Window == "lifetime");
        Assert.Equal(rejected.TotalTokens + served.TotalTokens, lifetime.Tokens);
        Assert.Equal(rejected.CostUsd + served.CostUsd, lifetime.CostUsd);
    }

    [Fact]
    public async Task A_stream_without_usage_is_counted_with_the_tokenizer_and_flagged_estimated()
    {
        var context = new RouterContext("nousage") { Model = "cheap" };
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("tell me something [simulate:nousage]"), context, TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        var text = string.Concat(items.Select(i => i.TextDelta));
        Assert.NotEmpty(text);
        var last = items[^1];
        Assert.NotNull(last.Usage);
        Assert.True(last.Usage!.Estimated);
        Assert.Equal((text.Length + 3) / 4, last.Usage.CompletionTokens); // cheap-1 has no public tokenizer: 4 chars a token
        var row = Assert.Single(await Rows("nousage"), r => r.RequestId == context.RequestId);
        Assert.True(row.Success);
        Assert.True(row.UsageEstimated);
        Assert.Equal(last.Usage.CompletionTokens, row.CompletionTokens);

        var plain = await Router.CompleteAsync(Ask("and once more [simulate:nousage]"), context with { RequestId = Guid.NewGuid().ToString("N") });
        Assert.True(plain.Usage.Estimated);
        Assert.Equal((plain.Message.Text.Length + 3) / 4, plain.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_reservation_whose_holder_stops_renewing_expires_and_a_renewed_one_stays()
    {
        var grain = Budget("lease");
        await grain.ReserveAsync("dead-holder:0", 100, 0.001m, null);
        await grain.ReserveAsync("live-holder:0", 100, 0.001m, null);
        Assert.Equal(2, (await grain.GetUsageAsync()).ReservationsInFlight);

        fx.Clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(1, await grain.RenewAsync(["live-holder:0"]));
        fx.Clock.Advance(TimeSpan.FromSeconds(40));
        var usage = await grain.GetUsageAsync();
        Assert.Equal(1, usage.ReservationsInFlight); // the dead holder's is gone after one lease (60 s)
        Assert.Equal(100, usage.ReservedTokens);

        fx.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(0, (await grain.GetUsageAsync()).ReservationsInFlight);
    }

    [Fact]
    public async Task The_tenant_tpm_window_holds_actual_usage_not_worst_case_reservations()
    {
        // Each call reserves ~900 tokens (max_tokens) of a 1,000 tpm limit but uses a few dozen: all fit this minute.
        for (var i = 0; i < 10; i++)
        {
            await Router.CompleteAsync(Ask($"short call {i}", maxTokens: 900), new RouterContext("tpmt") { Model = "cheap" });
        }

        // Actual usage still counts: a prompt bigger than the limit is refused.
        var ex = await Assert.ThrowsAsync<TenantRateLimitedException>(() => Router.CompleteAsync(Ask(new string('w', 1000), maxTokens: 10), new RouterContext("tpmsmall") { Model = "cheap" }));
        Assert.Equal("tpm", ex.Limit);
    }

    [Fact]
    public async Task A_run_has_a_usd_budget_and_idle_runs_leave_the_grain_state()
    {
        // pricey: 100 USD per 1M tokens; each call reserves ~0.011 USD and uses less; the run's 0.02 USD runs out.
        var calls = 0;
        CostBudgetExceededException? rejected = null;
        for (var i = 0; i < 20 && rejected is null; i++)
        {
            try
            {
                await Router.CompleteAsync(Ask($"run call {i}"), new RouterContext("runusd") { Model = "pricey", RunId = "r-usd" });
                calls++;
            }
            catch (CostBudgetExceededException ex)
            {
                rejected = ex;
            }
        }

        Assert.NotNull(rejected);
        Assert.Equal("run", rejected!.Window);
        Assert.InRange(calls, 1, 10);
        var run = (await Budget("runusd").GetUsageAsync()).Windows.Single(w => w.Window == "run" && w.Key == "r-usd");
        Assert.True(run.CostUsd + rejected.RequestedUsd > 0.02m);
        Assert.Equal(0.02m, run.CostLimitUsd);

        // Another run has its own budget.
        await Router.CompleteAsync(Ask("another run"), new RouterContext("runusd") { Model = "pricey", RunId = "r-other" });

        fx.Clock.Advance(TimeSpan.FromHours(25));
        var after = await Budget("runusd").GetUsageAsync();
        Assert.DoesNotContain(after.Windows, w => w.Window == "run");
        Assert.True(after.Windows.Single(w => w.Window == "lifetime").CostUsd > 0); // the totals stay
    }

    [Fact]
    public async Task An_unknown_tenant_is_refused_on_the_grain_api()
    {
        var ex = await Assert.ThrowsAsync<TenantNotFoundException>(() => Router.CompleteAsync(Ask("who am I"), new RouterContext("no-such-tenant") { Model = "cheap" }));
        Assert.Equal("no-such-tenant", ex.TenantId);
        await Assert.ThrowsAsync<TenantNotFoundException>(() => Budget("no-such-tenant").ReserveAsync("x:0", 1, 0m, null));
        await Assert.ThrowsAsync<TenantNotFoundException>(async () =>
        {
            await foreach (var _ in Router.StreamAsync(Ask("who am I"), new RouterContext("no-such-tenant") { Model = "cheap" }, TestContext.Current.CancellationToken))
            {
            }
        });
    }
}
