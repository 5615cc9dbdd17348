using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Tests.Routing;

/// <summary>
/// Real HTTP on loopback to the wire-faithful mock: answers that are malformed, incomplete, cut or stalled are typed
/// errors, fall back before the first chunk, end a stream with an error item after it, and leave nothing held. The
/// stall scenarios go to a provider with short timeouts (2 s, 1 s idle); the others to one whose timeouts are generous,
/// so a slow machine never turns a reset or a malformed answer into a timeout.
/// </summary>
[Collection(RoutingClusterCollection.Name)]
public sealed class UpstreamFaultRoutingTests(RoutingClusterFixture fx)
{
    private IRouterGrain Router => fx.Cluster.Client.GetGrain<IRouterGrain>(0);

    private static ChatRequest Ask(string text) => new([RouterMessage.FromText("user", text)]) { MaxOutputTokens = 50 };

    /// <summary>The provider's model a scenario goes to: stalls to the one with short timeouts.</summary>
    private static string ModelFor(string scenario) => scenario == "stall" ? "m-ups" : "m-upc";

    [Theory]
    [InlineData("malformed_json", ProviderErrorClass.UpstreamInvalidResponse)]
    [InlineData("missing_field", ProviderErrorClass.UpstreamInvalidResponse)]
    [InlineData("wrong_type", ProviderErrorClass.UpstreamInvalidResponse)]
    [InlineData("reset", ProviderErrorClass.Connection)]
    [InlineData("stall", ProviderErrorClass.Timeout)]
    public async Task A_broken_answer_is_a_typed_error_that_falls_back_and_holds_nothing(string scenario, ProviderErrorClass errorClass)
    {
        for (var i = 0; i < 3; i++) // more than the provider's max_concurrency (2): a leaked slot would refuse the next
        {
            var c = await Router.CompleteAsync(Ask($"{scenario} {i} [mock:{scenario}]"), new RouterContext("faults") { Action = scenario == "stall" ? "upstall" : "upguard" });
            Assert.Equal("b-small", c.Model);
            Assert.Equal([ModelFor(scenario), "b-small"], c.Attempts.Select(a => a.Model));
            Assert.Equal(errorClass, c.Attempts[0].ErrorClass);
        }

        await AssertNothingHeldAsync();
    }

    [Theory]
    [InlineData("truncated", ProviderErrorClass.UpstreamInvalidResponse)]
    [InlineData("malformed_json", ProviderErrorClass.UpstreamInvalidResponse)]
    [InlineData("reset", ProviderErrorClass.Connection)]
    [InlineData("stall", ProviderErrorClass.Timeout)]
    public async Task A_stream_broken_after_its_first_chunk_ends_with_an_error_item_billed_for_what_came(string scenario, ProviderErrorClass errorClass)
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask($"stream {scenario} [mock:{scenario}]"), new RouterContext("faults") { Model = ModelFor(scenario) }, TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        Assert.Equal(ModelFor(scenario), items[0].Model);
        Assert.Contains(items, i => !string.IsNullOrEmpty(i.TextDelta));
        var last = items[^1];
        Assert.Equal("error", last.FinishReason);
        Assert.Equal(errorClass, last.ErrorClass);
        Assert.True(last.Usage!.Estimated);
        Assert.True(last.Usage.CompletionTokens > 0);
        await AssertNothingHeldAsync();
    }

    [Fact]
    public async Task A_stream_without_a_usage_chunk_is_a_success_counted_with_the_tokenizer()
    {
        var items = new List<ChatStreamItem>();
        await foreach (var item in Router.StreamAsync(Ask("no usage please [mock:no_usage]"), new RouterContext("faults") { Model = "m-upc" }, TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        var last = items[^1];
        Assert.NotEqual("error", last.FinishReason);
        Assert.NotNull(last.FinishReason);
        Assert.True(last.Usage!.Estimated);
        Assert.True(last.Usage.CompletionTokens > 0);
        await AssertNothingHeldAsync();
    }

    private async Task AssertNothingHeldAsync()
    {
        foreach (var provider in new[] { "upc", "ups" })
        {
            var grain = fx.Cluster.Client.GetGrain<IProviderGrain>(provider);
            for (var i = 0; i < 200 && (await grain.GetHealthAsync()).ConcurrencySlotsLeased > 0; i++)
            {
                await Task.Delay(25);
            }

            var health = await grain.GetHealthAsync();
            Assert.Equal(0, health.ConcurrencySlotsLeased);
            Assert.Equal(ProviderCircuitState.Closed, health.State); // minimum_calls 100: these failures do not open it
        }

        Assert.Equal(0, (await fx.Cluster.Client.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For("faults")).GetUsageAsync()).ReservationsInFlight);
    }
}
