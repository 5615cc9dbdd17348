using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.Mcp;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Tests.Mcp;

/// <summary>
/// The MCP gateway through its public surface: the official MCP C# client against <c>/mcp</c> of a real embedded
/// gateway, two SDK-built MCP servers on loopback behind it.
/// The same tests run in both hosting shapes: <see cref="McpEmbeddedGatewayTests"/> (co-hosted silo) and
/// <see cref="McpFrontEndGatewayTests"/> (a separate front end).
/// </summary>
public abstract class McpGatewayTests(McpGatewayFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, object?> Args(params (string Key, object? Value)[] args) => args.ToDictionary(a => a.Key, a => a.Value);

    private static string TextOf(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    private async Task<List<LedgerRecord>> RowsAsync(string tenant)
    {
        var rows = new List<LedgerRecord>();
        await foreach (var row in fixture.Services.GetRequiredService<ILedger>().QueryAsync(new UsageQuery(tenant), Ct))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task Tools_are_listed_namespaced_by_server_and_filtered_by_the_keys_allow_list()
    {
        await using var all = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("forward"));
        var names = (await all.ListToolsAsync(cancellationToken: Ct)).Select(t => t.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "files__echo", "files__add", "files__oops", "flaky__echo", "paced__echo", "toggled__add" }, names);
        Assert.DoesNotContain(names, n => n.StartsWith("nokey__", StringComparison.Ordinal)); // disabled: its key's variable is not set
        var echo = (await all.ListToolsAsync(cancellationToken: Ct)).Single(t => t.Name == "files__echo");
        Assert.Equal("Echoes text.", echo.Description);
        Assert.Equal("object", echo.ProtocolTool.InputSchema.GetProperty("type").GetString());

        await using var narrow = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("narrow"));
        var allowed = (await narrow.ListToolsAsync(cancellationToken: Ct)).Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["files__echo", "paced__add", "paced__echo", "paced__oops"], allowed);
    }

    [Fact]
    public async Task A_call_is_forwarded_with_the_servers_key_and_its_result_comes_back_and_is_ledgered()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("forward"));
        var result = await client.CallToolAsync("files__echo", Args(("text", "hello")), cancellationToken: Ct);
        Assert.NotEqual(true, result.IsError);
        Assert.Equal("echo: hello", TextOf(result));
        Assert.Equal("5", TextOf(await client.CallToolAsync("files__add", Args(("a", 2), ("b", 3)), cancellationToken: Ct)));

        // A tool that fails as a tool is the server's answer: isError passes through, the call ran and is billed.
        var oops = await client.CallToolAsync("files__oops", cancellationToken: Ct);
        Assert.True(oops.IsError);
        Assert.Equal("the tool failed", TextOf(oops));

        var rows = (await RowsAsync("t-forward")).OrderBy(r => r.TenantSeq).ToList();
        Assert.Equal(["echo", "add", "oops"], rows.Select(r => r.Model));
        Assert.All(rows, r =>
        {
            Assert.Equal(LedgerRecord.ToolCall, r.Kind);
            Assert.Equal("files", r.Provider);
            Assert.True(r.Success);
            Assert.Null(r.ErrorClass);
            Assert.Equal(0, r.TotalTokens);
            Assert.True(r.LatencyMs > 0);
        });
        Assert.Equal([0.01m, 0m, 0.01m], rows.Select(r => r.CostUsd)); // per call, and the add tool's own price
        Assert.DoesNotContain(fixture.Logs.Lines, l => l.Contains(McpGatewayFixture.UpstreamKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_servers_and_tools_and_tools_outside_the_allow_list_are_refused_with_clear_MCP_errors()
    {
        await using var narrow = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("narrow"));
        var calls = fixture.Healthy.Calls;

        var unknownServer = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("nowhere__echo", cancellationToken: Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknownServer.ErrorCode);
        Assert.Contains("Unknown tool 'nowhere__echo'", unknownServer.Message, StringComparison.Ordinal);

        var notNamespaced = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("echo", cancellationToken: Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, notNamespaced.ErrorCode);

        var unknownTool = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("paced__nope", cancellationToken: Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknownTool.ErrorCode);
        Assert.Contains("has no tool 'nope'", unknownTool.Message, StringComparison.Ordinal);

        var toolNotAllowed = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("files__add", Args(("a", 1), ("b", 1)), cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.Forbidden, toolNotAllowed.ErrorCode);
        Assert.Contains("may not call tool 'files__add'", toolNotAllowed.Message, StringComparison.Ordinal);

        var serverNotAllowed = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("toggled__echo", Args(("text", "x")), cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.Forbidden, serverNotAllowed.ErrorCode);

        var disabled = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.CallToolAsync("nokey__echo", cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.Forbidden, disabled.ErrorCode); // not in this key's list either

        Assert.Equal(calls, fixture.Healthy.Calls); // none reached the server
        Assert.Empty(await RowsAsync("t-narrow"));
    }

    [Fact]
    public async Task Malformed_JSON_RPC_and_missing_keys_get_clear_errors_never_a_500()
    {
        using var http = fixture.Http(McpGatewayFixture.KeyOf("forward"));
        async Task<HttpResponseMessage> PostAsync(string body, HttpClient client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json");
            request.Headers.Accept.ParseAdd("text/event-stream");
            return await client.SendAsync(request, Ct);
        }

        using var notJson = await PostAsync("{ this is not json", http);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Contains("error", await notJson.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var notRpc = await PostAsync("""{"hello":"world"}""", http);
        Assert.Equal(HttpStatusCode.BadRequest, notRpc.StatusCode);

        using var noMethodParams = await PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}""", http);
        var text = await noMethodParams.Content.ReadAsStringAsync(Ct);
        Assert.True((int)noMethodParams.StatusCode < 500, $"status {(int)noMethodParams.StatusCode}: {text}");
        Assert.Contains("\"error\"", text, StringComparison.Ordinal);

        using var anonymous = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var noKey = await PostAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", anonymous);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(() => McpGatewayFixture.ConnectAsync(fixture.BaseAddress, "sk-not-a-key"));
    }

    [Fact]
    public async Task An_upstream_that_fails_stalls_or_answers_garbage_gives_an_MCP_error_in_bounded_time_and_a_ledger_row()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("faults"));
        try
        {
            fixture.Flaky.Mode = UpstreamMode.Fail;
            var failed = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("faults__echo", Args(("text", "x")), cancellationToken: Ct).AsTask());
            Assert.Equal(McpErrorCode.InternalError, failed.ErrorCode); // the server's own JSON-RPC error, passed on
            Assert.Contains("MCP server 'faults'", failed.Message, StringComparison.Ordinal);

            fixture.Flaky.Mode = UpstreamMode.Stall;
            var stalled = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("faults__echo", Args(("text", "x")), cancellationToken: Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.Equal(McpGatewayErrors.UpstreamTimeout, stalled.ErrorCode);
            Assert.Contains("within 4 s", stalled.Message, StringComparison.Ordinal);

            fixture.Flaky.Mode = UpstreamMode.Garbage;
            var garbage = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("faults__echo", Args(("text", "x")), cancellationToken: Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.Equal(McpGatewayErrors.UpstreamFailed, garbage.ErrorCode);

            fixture.Flaky.Mode = UpstreamMode.Healthy;
            Assert.Equal("echo: back", TextOf(await client.CallToolAsync("faults__echo", Args(("text", "back")), cancellationToken: Ct)));
        }
        finally
        {
            fixture.Flaky.Mode = UpstreamMode.Healthy;
        }

        var rows = (await RowsAsync("t-faults")).OrderBy(r => r.TenantSeq).ToList();
        Assert.Equal([false, false, false, true], rows.Select(r => r.Success));
        Assert.Equal(["server", "timeout", "upstream_invalid_response", null], rows.Select(r => r.ErrorClass));
        Assert.Equal([0m, 0m, 0m, 0.5m], rows.Select(r => r.CostUsd)); // only a result is billed
        Assert.All(rows, r => Assert.Equal(LedgerRecord.ToolCall, r.Kind));
    }

    [Fact]
    public async Task An_unreachable_server_is_left_out_of_the_list_and_a_call_to_it_is_a_clear_error_billed_nothing()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("offline"));
        Assert.Empty(await client.ListToolsAsync(cancellationToken: Ct));
        for (var i = 0; i < 2; i++)
        {
            var failed = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("offline__echo", Args(("text", "x")), cancellationToken: Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.Equal(McpGatewayErrors.UpstreamFailed, failed.ErrorCode);
            Assert.Contains("could not be reached", failed.Message, StringComparison.Ordinal);
        }

        var rows = await RowsAsync("t-offline");
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(("connection", 0m, false), (r.ErrorClass, r.CostUsd, r.Success)));
        var usage = await fixture.Services.GetRequiredService<IGrainFactory>().GetTenantBudget("t-offline").GetUsageAsync();
        Assert.Equal(0, usage.ReservationsInFlight); // the price reserved for each call was released
    }

    [Fact]
    public async Task The_breaker_opens_for_the_whole_cluster_and_recovers_through_one_probe_on_the_clock()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("breaker"));
        try
        {
            fixture.Flaky.Mode = UpstreamMode.Fail;
            for (var i = 0; i < 2; i++)
            {
                await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("flaky__echo", Args(("text", "x")), cancellationToken: Ct).AsTask());
            }

            fixture.Flaky.Mode = UpstreamMode.Healthy;
            var calls = fixture.Flaky.Calls;
            var open = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("flaky__echo", Args(("text", "x")), cancellationToken: Ct).AsTask());
            Assert.Equal(McpGatewayErrors.Unavailable, open.ErrorCode);
            Assert.Contains("circuit breaker is open; retry in 30 s", open.Message, StringComparison.Ordinal);
            Assert.Equal(calls, fixture.Flaky.Calls); // refused at the gateway

            using var admin = fixture.Http(McpGatewayFixture.AdminKey);
            Assert.Contains("\"circuitState\":\"open\"", await admin.GetStringAsync("/api/v1/mcp/servers", Ct), StringComparison.Ordinal);

            fixture.Clock.Advance(TimeSpan.FromSeconds(31));
            Assert.Equal("echo: probe", TextOf(await client.CallToolAsync("flaky__echo", Args(("text", "probe")), cancellationToken: Ct)));
            Assert.Equal("echo: closed", TextOf(await client.CallToolAsync("flaky__echo", Args(("text", "closed")), cancellationToken: Ct)));
        }
        finally
        {
            fixture.Flaky.Mode = UpstreamMode.Healthy;
        }
    }

    [Fact]
    public async Task A_servers_rpm_is_enforced_cluster_wide_and_refills_next_minute()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("rpm"));
        // Start at the beginning of a minute of the fake clock, so both calls and the refusal fall in one window.
        var now = fixture.Clock.GetUtcNow();
        fixture.Clock.Advance(TimeSpan.FromSeconds(60 - (now.ToUnixTimeSeconds() % 60)) + TimeSpan.FromMilliseconds(1));
        await client.CallToolAsync("paced__echo", Args(("text", "1")), cancellationToken: Ct);
        await client.CallToolAsync("paced__echo", Args(("text", "2")), cancellationToken: Ct);
        var limited = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("paced__echo", Args(("text", "3")), cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.RateLimited, limited.ErrorCode);
        Assert.Contains("requests per minute are spent", limited.Message, StringComparison.Ordinal);

        fixture.Clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("echo: 4", TextOf(await client.CallToolAsync("paced__echo", Args(("text", "4")), cancellationToken: Ct)));
        Assert.Equal(3, (await RowsAsync("t-rpm")).Count);
    }

    [Fact]
    public async Task A_priced_call_that_does_not_fit_the_budget_is_refused_with_a_402_equivalent_and_the_ledger_reconciles()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("poor"));
        Assert.Equal("echo: paid", TextOf(await client.CallToolAsync("files__echo", Args(("text", "paid")), cancellationToken: Ct)));
        var calls = fixture.Healthy.Calls;
        var refused = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("files__echo", Args(("text", "unpaid")), cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.BudgetExceeded, refused.ErrorCode);
        Assert.Contains("budget_exceeded", refused.Message, StringComparison.Ordinal);
        Assert.Contains("lifetime", refused.Message, StringComparison.Ordinal);
        Assert.Contains("limit 0.015", refused.Message, StringComparison.Ordinal);
        Assert.Equal(calls, fixture.Healthy.Calls); // never sent

        // A free tool still works at the budget's edge.
        Assert.Equal("2", TextOf(await client.CallToolAsync("files__add", Args(("a", 1), ("b", 1)), cancellationToken: Ct)));

        var rows = await RowsAsync("t-poor");
        Assert.Equal(2, rows.Count);
        Assert.Equal(0.01m, rows.Sum(r => r.CostUsd));

        // The budget's counters equal the ledger: on the silo itself, and through the admin API's reconcile audit and
        // usage export where the front end shares the silo's ledger (the embedded shape; a separate front end without
        // PostgreSQL has a ledger of its own).
        var usage = await fixture.Services.GetRequiredService<IGrainFactory>().GetTenantBudget("t-poor").GetUsageAsync();
        Assert.Equal(0.01m, usage.Windows.Single(w => w.Window == "lifetime").CostUsd);
        Assert.Equal(0, usage.ReservationsInFlight);
        if (fixture is not McpFrontEndFixture)
        {
            using var admin = fixture.Http(McpGatewayFixture.AdminKey);
            using var reconcile = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/tenants/t-poor/reconcile", Ct));
            Assert.True(reconcile.RootElement.GetProperty("consistent").GetBoolean(), reconcile.RootElement.ToString());
            var csv = await admin.GetStringAsync("/api/v1/tenants/t-poor/usage?format=csv", Ct);
            Assert.Equal(2, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(",tool_call,", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Prompts_pass_through_namespaced_and_filtered_by_server()
    {
        await using var narrow = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("narrow"));
        Assert.Equal(["files__greet", "paced__greet"], (await narrow.ListPromptsAsync(cancellationToken: Ct)).Select(p => p.Name).Order(StringComparer.Ordinal));
        var prompt = await narrow.GetPromptAsync("files__greet", new Dictionary<string, object?> { ["who"] = "Ada" }, cancellationToken: Ct);
        Assert.Equal("Hello, Ada", Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text);
        var forbidden = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.GetPromptAsync("toggled__greet", new Dictionary<string, object?> { ["who"] = "x" }, cancellationToken: Ct).AsTask());
        Assert.Equal(McpGatewayErrors.Forbidden, forbidden.ErrorCode);
        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => narrow.GetPromptAsync("greet", cancellationToken: Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknown.ErrorCode);
    }

    [Fact]
    public async Task An_admin_disables_and_enables_a_server_at_run_time()
    {
        await using var client = await fixture.ConnectAsync(McpGatewayFixture.KeyOf("admin"));
        using var admin = fixture.Http(McpGatewayFixture.AdminKey);
        Assert.Contains("toggled__echo", (await client.ListToolsAsync(cancellationToken: Ct)).Select(t => t.Name));

        using (var off = await admin.PostAsync("/api/v1/mcp/servers/toggled/disable", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        }

        try
        {
            Assert.Empty(await client.ListToolsAsync(cancellationToken: Ct));
            var refused = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("toggled__echo", Args(("text", "x")), cancellationToken: Ct).AsTask());
            Assert.Equal(McpGatewayErrors.Unavailable, refused.ErrorCode);
        }
        finally
        {
            using var on = await admin.PostAsync("/api/v1/mcp/servers/toggled/enable", null, Ct);
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        }

        Assert.Equal("echo: on", TextOf(await client.CallToolAsync("toggled__echo", Args(("text", "on")), cancellationToken: Ct)));
        using var missing = await admin.PostAsync("/api/v1/mcp/servers/ghost/disable", null, Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var configured = await admin.PostAsync("/api/v1/mcp/servers/nokey/enable", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, configured.StatusCode);
        var list = await admin.GetStringAsync("/api/v1/mcp/servers", Ct);
        Assert.DoesNotContain(McpGatewayFixture.UpstreamKey, list, StringComparison.Ordinal);
        using var tenantKey = fixture.Http(McpGatewayFixture.KeyOf("admin"));
        using var notAdmin = await tenantKey.GetAsync("/api/v1/mcp/servers", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, notAdmin.StatusCode); // as every admin-only route answers a tenant key
    }
}

[Collection(McpGatewayCollection.Name)]
public sealed class McpEmbeddedGatewayTests(McpGatewayFixture fixture) : McpGatewayTests(fixture);

[Collection(McpFrontEndCollection.Name)]
public sealed class McpFrontEndGatewayTests(McpFrontEndFixture fixture) : McpGatewayTests(fixture);
