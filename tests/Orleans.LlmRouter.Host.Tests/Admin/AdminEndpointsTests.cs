using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.Admin;

[Collection(GatewayCollection.Name)]
public sealed class AdminEndpointsTests(GatewayFixture gateway)
{
    public const string AdminKey = "sk-llmrouter-admin-dev";
    public const string DemoKey = "sk-llmrouter-demo-b";

    private HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    [InlineData(GatewayFixture.DevKey)]
    public async Task Admin_routes_need_the_admin_key_and_answer_problem_details(string? key)
    {
        using var client = Client(key);
        using var response = await client.GetAsync("/api/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(401, (await Json(response)).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Models_lists_the_catalog_with_capabilities_context_and_prices()
    {
        using var client = Client(AdminKey);
        using var response = await client.GetAsync("/api/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var gpt4o = (await Json(response)).EnumerateArray().Single(m => m.GetProperty("name").GetString() == "gpt-4o");
        Assert.Equal(128000, gpt4o.GetProperty("contextWindow").GetInt32());
        Assert.Equal(2.50m, gpt4o.GetProperty("pricingPerMillionUsd").GetProperty("input").GetDecimal());
        Assert.False(gpt4o.GetProperty("enabled").GetBoolean());
        Assert.Contains("vision", gpt4o.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));

        var models = await Json(response);
        var sonnet = models.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "claude-sonnet-4-5").GetProperty("pricingPerMillionUsd");
        Assert.Equal((3.75m, 6.00m), (sonnet.GetProperty("cacheWrite").GetDecimal(), sonnet.GetProperty("cacheWrite1h").GetDecimal()));
        var tier = Assert.Single(sonnet.GetProperty("longContext").EnumerateArray());
        Assert.Equal((200000L, 6.00m, 7.50m, 12.00m), (tier.GetProperty("aboveTokens").GetInt64(), tier.GetProperty("input").GetDecimal(), tier.GetProperty("cacheWrite").GetDecimal(), tier.GetProperty("cacheWrite1h").GetDecimal()));
    }

    [Fact]
    public async Task Route_is_a_dry_run_with_the_chosen_model_fallbacks_cost_and_reasons()
    {
        using var client = Client(AdminKey);
        using var body = new StringContent("""{"model":"action:video_analysis","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"https://example.com/frame.png"}}]}]}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/api/v1/route?tenant=dev", body, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        Assert.Equal("sim-large", json.GetProperty("chosenModel").GetString());
        Assert.True(json.GetProperty("estimatedCostUsd").GetDecimal() > 0);
        var gemini = json.GetProperty("candidates").EnumerateArray().First(c => c.GetProperty("model").GetString() == "gemini-2.5-pro");
        Assert.False(gemini.GetProperty("eligible").GetBoolean());
        Assert.Contains("GEMINI_API_KEY", gemini.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_lists_providers_and_a_provider_can_be_disabled_and_enabled_at_run_time()
    {
        using var client = Client(AdminKey);
        using var health = await client.GetAsync("/api/v1/health/providers", TestContext.Current.CancellationToken);
        var providers = (await Json(health)).EnumerateArray().ToList();
        Assert.True(providers.Single(p => p.GetProperty("id").GetString() == "simulated").GetProperty("enabled").GetBoolean());
        Assert.Contains("OPENAI_API_KEY", providers.Single(p => p.GetProperty("id").GetString() == "openai").GetProperty("disabledReason").GetString(), StringComparison.Ordinal);

        using (var disabled = await client.PostAsync("/api/v1/providers/simulated/disable", null, TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        }

        try
        {
            using var chat = await gateway.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","messages":[{"role":"user","content":"while disabled"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadGateway, chat.StatusCode);
        }
        finally
        {
            using var enabled = await client.PostAsync("/api/v1/providers/simulated/enable", null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        }

        using var after = await gateway.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","messages":[{"role":"user","content":"enabled again"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Tasks_lists_actions_with_requirements_and_strategies()
    {
        using var client = Client(AdminKey);
        var tasks = (await Json(await client.GetAsync("/api/v1/tasks", TestContext.Current.CancellationToken))).EnumerateArray().ToList();
        Assert.Equal(10, tasks.Count); // the 7 shipped seed actions and the test configuration's mock_chain, mock_fail_chain and mock_pause_chain
        var video = tasks.Single(t => t.GetProperty("name").GetString() == "video_analysis");
        Assert.Equal(["long_context", "vision"], video.GetProperty("requires").EnumerateArray().Select(c => c.GetString()!).ToArray());
        Assert.Equal(["budget", "default", "quality"], video.GetProperty("strategies").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Pricing_compares_models_and_finds_the_cheapest_for_a_capability()
    {
        using var client = Client(AdminKey);
        var compare = await Json(await client.GetAsync("/api/v1/pricing/compare?models=gpt-4o,gpt-4o-mini&input_tokens=1000000&output_tokens=1000000", TestContext.Current.CancellationToken));
        var models = compare.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal("gpt-4o-mini", models[0].GetProperty("model").GetString());
        Assert.Equal(0.75m, models[0].GetProperty("costUsd").GetDecimal());
        Assert.Equal(12.50m, models[1].GetProperty("costUsd").GetDecimal());

        var cheapest = await Json(await client.GetAsync("/api/v1/pricing/cheapest?capability=vision&input_tokens=1000&output_tokens=500", TestContext.Current.CancellationToken));
        Assert.Equal("sim-large", cheapest.GetProperty("model").GetString()); // the only enabled vision model without keys

        using var bad = await client.GetAsync("/api/v1/pricing/compare?models=gpt-4o&input_tokens=-1&output_tokens=5", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var unknown = await client.GetAsync("/api/v1/pricing/compare?models=nope&input_tokens=1&output_tokens=5", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_tenant_reads_its_own_usage_as_json_or_csv_but_never_another_tenants()
    {
        using var demo = Client(DemoKey);
        using (var chat = await demo.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_small","messages":[{"role":"user","content":"bill me"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var usage = await Json(await demo.GetAsync("/api/v1/tenants/demo/usage", TestContext.Current.CancellationToken));
        Assert.True(usage.GetProperty("totals").GetProperty("calls").GetInt64() >= 1);
        var lifetime = usage.GetProperty("counters").GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == "lifetime");
        Assert.Equal(usage.GetProperty("totals").GetProperty("promptTokens").GetInt64() + usage.GetProperty("totals").GetProperty("completionTokens").GetInt64(), lifetime.GetProperty("tokens").GetInt64());

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/demo/usage?action=chat_small");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csv = await demo.SendAsync(csvRequest, TestContext.Current.CancellationToken);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("request_id,tenant_id", lines[0], StringComparison.Ordinal);
        Assert.EndsWith(",completed_at,usage_estimated,cache_write_tokens,cache_write_1h_tokens,trace_id,kind,project_id,key_id,end_user,cache,saved_usd", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines.Skip(1), l => l.Contains(",demo,", StringComparison.Ordinal) && l.Contains(",chat_small,", StringComparison.Ordinal));

        using var other = await demo.GetAsync("/api/v1/tenants/dev/usage", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        using var admin = Client(AdminKey);
        using var asAdmin = await admin.GetAsync("/api/v1/tenants/demo/usage", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
    }

    [Fact]
    public async Task A_tenant_cannot_use_an_action_it_is_not_allowed()
    {
        using var demo = Client(DemoKey);
        using var chat = await demo.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_smart","messages":[{"role":"user","content":"not mine"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, chat.StatusCode);
    }

    [Fact]
    public async Task Readiness_and_the_openapi_document_are_served()
    {
        using var client = Client(null);
        using var ready = await client.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var openapi = await client.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, openapi.StatusCode);
        Assert.True((await Json(openapi)).GetProperty("paths").TryGetProperty("/api/v1/models", out _));
    }

    [Fact]
    public async Task Reconcile_with_the_in_memory_ledger_reports_no_difference_after_calls_and_the_difference_of_an_amended_row()
    {
        using var demo = Client(DemoKey);
        using (var chat = await demo.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_small","messages":[{"role":"user","content":"audit me"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var clean = await Json(await demo.GetAsync("/api/v1/tenants/demo/reconcile", TestContext.Current.CancellationToken));
        Assert.True(clean.GetProperty("consistent").GetBoolean(), clean.ToString());
        Assert.Equal(0, clean.GetProperty("inFlight").GetProperty("reservations").GetInt32());
        var windows = clean.GetProperty("windows").EnumerateArray().ToList();
        Assert.Equal(["lifetime", "daily", "weekly", "monthly"], windows.Take(4).Select(w => w.GetProperty("window").GetString()));
        Assert.All(windows, w => Assert.Equal(0, w.GetProperty("tokenDifference").GetInt64()));

        var ledger = Assert.IsType<Orleans.LlmRouter.Ledger.InMemoryLedger>(gateway.Services.GetService(typeof(Orleans.LlmRouter.Ledger.ILedger)));
        var row = await ledger.QueryAsync(new Orleans.LlmRouter.Ledger.UsageQuery("demo"), TestContext.Current.CancellationToken).FirstAsync(TestContext.Current.CancellationToken);
        Assert.True(ledger.Amend(row.RequestId, r => r with { CompletionTokens = r.CompletionTokens + 11, CostUsd = r.CostUsd + 0.25m }));
        try
        {
            using var admin = Client(AdminKey);
            var dirty = await Json(await admin.GetAsync("/api/v1/tenants/demo/reconcile", TestContext.Current.CancellationToken));
            Assert.False(dirty.GetProperty("consistent").GetBoolean());
            var lifetime = dirty.GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == "lifetime");
            Assert.Equal(-11, lifetime.GetProperty("tokenDifference").GetInt64());
            Assert.Equal(-0.25m, lifetime.GetProperty("usdDifference").GetDecimal());
            var weekly = dirty.GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == "weekly"); // the row is of this week
            Assert.Equal((-11L, -0.25m), (weekly.GetProperty("tokenDifference").GetInt64(), weekly.GetProperty("usdDifference").GetDecimal()));
            Assert.Matches(@"^\d{4}-W\d{2}$", weekly.GetProperty("key").GetString());
        }
        finally
        {
            ledger.Amend(row.RequestId, _ => row);
        }

        using var other = await demo.GetAsync("/api/v1/tenants/dev/reconcile", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
    }
}
