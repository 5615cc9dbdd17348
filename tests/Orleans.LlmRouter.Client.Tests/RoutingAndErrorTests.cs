using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Client.Tests;

[Collection(ClientClusterCollection.Name)]
public sealed class RoutingAndErrorTests(ClientClusterFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null, "chat", null, "small")]
    [InlineData(null, "chat", "quality", "large")]
    [InlineData("action:chat", null, null, "small")]
    [InlineData("action:chat", null, "quality", "large")]
    [InlineData("auto", "chat", "quality", "large")]
    [InlineData("large", null, null, "large")]
    public async Task Model_id_and_routing_hints_pick_the_expected_model(string? modelId, string? action, string? strategy, string expected)
    {
        var options = new ChatOptions { ModelId = modelId }.WithLlmRouter(action: action, strategy: strategy);

        var response = await fx.Chat.GetResponseAsync("Which model answers?", options, Ct);

        Assert.Equal(expected, response.ModelId);
    }

    [Fact]
    public async Task A_tenant_id_that_does_not_exist_is_refused_never_served_unbudgeted()
    {
        using var chat = fx.CreateRawClient(o => o.DefaultTenantId = "typo-in-the-tenant-id");

        var ex = await Assert.ThrowsAsync<TenantNotFoundException>(() => chat.GetResponseAsync("Who pays for this?", new ChatOptions { ModelId = "small" }, Ct));
        Assert.Equal("typo-in-the-tenant-id", ex.TenantId);
        await Assert.ThrowsAsync<TenantNotFoundException>(async () =>
        {
            await foreach (var _ in chat.GetStreamingResponseAsync("Who pays for this stream?", new ChatOptions { ModelId = "small" }, Ct))
            {
            }
        });
    }

    [Fact]
    public async Task The_default_route_from_the_client_options_applies_when_a_call_names_none()
    {
        using var chat = fx.CreateRawClient(o => o.DefaultModelId = "action:chat");

        var response = await chat.GetResponseAsync("No model named", new ChatOptions().WithLlmRouter(strategy: "quality"), Ct);

        Assert.Equal("large", response.ModelId);
    }

    [Fact]
    public async Task Max_cost_skips_models_that_would_cost_more()
    {
        // `quality` tries large first; a cap below large's estimate leaves small (from the default chain).
        var options = new ChatOptions().WithLlmRouter(action: "chat", strategy: "quality", maxCostUsd: 0.005m);

        var response = await fx.Chat.GetResponseAsync("Keep it cheap", options, Ct);

        Assert.Equal("small", response.ModelId);
    }

    [Fact]
    public async Task Tenant_run_tags_action_and_strategy_reach_the_ledger_with_the_reported_cost()
    {
        var run = "run-" + Guid.NewGuid().ToString("N");
        var options = new ChatOptions().WithLlmRouter(tenant: "acme", action: "chat", strategy: "quality", runId: run, tags: ["client-test", "ledger"]);

        var response = await fx.Chat.GetResponseAsync("Record me", options, Ct);

        var rows = new List<LedgerRecord>();
        await foreach (var row in fx.Ledger.QueryAsync(new UsageQuery("acme"), Ct))
        {
            if (row.RunId == run)
            {
                rows.Add(row);
            }
        }

        var record = Assert.Single(rows);
        Assert.Equal("chat", record.Action);
        Assert.Equal("quality", record.Strategy);
        Assert.Equal("large", record.Model);
        Assert.Equal(["client-test", "ledger"], record.Tags);
        Assert.Equal(response.GetLlmRouterCostUsd(), record.CostUsd);
        Assert.Equal(response.Usage!.TotalTokenCount, record.TotalTokens);
    }

    [Fact]
    public void Routing_hints_round_trip_through_additional_properties()
    {
        var options = new ChatOptions().WithLlmRouter(tenant: "t1", action: "a1", strategy: "s1", runId: "r1", tags: ["x", "y"], maxCostUsd: 1.5m);
        options.WithLlmRouter(strategy: "s2");

        var hints = options.Clone().GetLlmRouterRouting();

        Assert.Equal(new[] { "t1", "a1", "s2", "r1" }, new[] { hints.TenantId, hints.Action, hints.Strategy, hints.RunId });
        Assert.Equal(["x", "y"], hints.Tags);
        Assert.Equal(1.5m, hints.MaxCostUsd);

        // Hand-written properties (e.g. from configuration) are read too.
        var manual = new ChatOptions { AdditionalProperties = new() { [LlmRouterPropertyNames.Tags] = "a, b", [LlmRouterPropertyNames.MaxCostUsd] = "0.25" } };
        Assert.Equal(["a", "b"], manual.GetLlmRouterRouting().Tags);
        Assert.Equal(0.25m, manual.GetLlmRouterRouting().MaxCostUsd);
    }

    [Fact]
    public async Task An_exhausted_token_budget_surfaces_as_TokenBudgetExceededException()
    {
        var options = new ChatOptions().WithLlmRouter(tenant: "tiny", action: "chat");

        var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => fx.Chat.GetResponseAsync("This will not fit", options, Ct));

        Assert.Equal("tiny", ex.TenantId);
        Assert.Equal("lifetime", ex.Window);
        Assert.Equal(20, ex.Limit);
        Assert.True(ex.Requested > ex.Limit);
    }

    [Fact]
    public async Task An_exhausted_token_budget_surfaces_unchanged_from_a_stream_too()
    {
        var options = new ChatOptions().WithLlmRouter(tenant: "tiny", action: "chat");

        await Assert.ThrowsAsync<TokenBudgetExceededException>(async () =>
        {
            await foreach (var update in fx.Chat.GetStreamingResponseAsync("This will not fit", options, Ct))
            {
                Assert.Fail("no update expected, got: " + update.Text);
            }
        });
    }

    [Fact]
    public async Task An_unknown_model_surfaces_as_InvalidRoutingException()
    {
        var ex = await Assert.ThrowsAsync<InvalidRoutingException>(() => fx.Chat.GetResponseAsync("Hi", new ChatOptions { ModelId = "no-such-model" }, Ct));

        Assert.True(ex.NotFound);
        Assert.Equal("model", ex.Param);
    }

    [Fact]
    public async Task When_every_model_fails_AllModelsFailedException_lists_the_attempts()
    {
        var ex = await Assert.ThrowsAsync<AllModelsFailedException>(() =>
            fx.Chat.GetResponseAsync("Fail everywhere [simulate:server]", new ChatOptions().WithLlmRouter(action: "chat"), Ct));

        Assert.Equal(["small", "large"], ex.Attempts.Select(a => a.Model));
        Assert.All(ex.Attempts, a => Assert.False(a.Success));
    }

    [Fact]
    public async Task A_stream_that_fails_after_it_started_yields_the_partial_text_and_usage_then_throws()
    {
        var updates = new List<ChatResponseUpdate>();
        var ex = await Assert.ThrowsAsync<LlmRouterException>(async () =>
        {
            await foreach (var update in fx.Chat.GetStreamingResponseAsync("Break halfway through this fairly long reply [simulate:midstream]", new ChatOptions { ModelId = "small" }, Ct))
            {
                updates.Add(update);
            }
        });

        Assert.Contains("small", ex.Message, StringComparison.Ordinal);
        Assert.True(updates.Count(u => u.Text.Length > 0) >= 1);
        var last = updates[^1];
        Assert.Single(last.Contents.OfType<ErrorContent>());
        Assert.True(Assert.Single(last.Contents.OfType<UsageContent>()).Details.OutputTokenCount > 0);
    }

    [Fact]
    public async Task A_call_without_any_tenant_fails_before_reaching_the_cluster()
    {
        using var chat = fx.CreateRawClient(o => o.DefaultTenantId = null);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => chat.GetResponseAsync("Who pays?", new ChatOptions { ModelId = "small" }, Ct));

        Assert.Contains("DefaultTenantId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsupported_content_is_refused_with_a_clear_message()
    {
        var audio = new Microsoft.Extensions.AI.ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "audio/wav")]);

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => fx.Chat.GetResponseAsync([audio], new ChatOptions { ModelId = "small" }, Ct));

        Assert.Contains("audio/wav", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_project_and_end_user_of_chat_options_are_governed_and_recorded_like_an_http_call()
    {
        var options = new ChatOptions { ModelId = "small" }.WithLlmRouter(tenant: "levels");
        options.AdditionalProperties![LlmRouterPropertyNames.Project] = "app";
        options.AdditionalProperties[LlmRouterPropertyNames.EndUser] = "someone";
        var response = await fx.Chat.GetResponseAsync("for an end user", options, TestContext.Current.CancellationToken);
        var rows = await fx.Ledger.QueryAsync(new Ledger.UsageQuery("levels"), TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
        Assert.Contains(rows, r => r.ProjectId == "app" && r.EndUser == "someone" && r.Success);
        Assert.NotNull(response.ResponseId);

        var capped = new ChatOptions { ModelId = "small" }.WithLlmRouter(tenant: "levels");
        capped.AdditionalProperties![LlmRouterPropertyNames.EndUser] = "capped";
        var ex = await Assert.ThrowsAsync<TokenBudgetExceededException>(() => fx.Chat.GetResponseAsync("over the end user's budget", capped, TestContext.Current.CancellationToken));
        Assert.Equal(("end_user", "capped"), (ex.Level, ex.LevelId));
    }
}
