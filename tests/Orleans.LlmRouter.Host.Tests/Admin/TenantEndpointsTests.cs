using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.Admin;

[Collection(GatewayCollection.Name)]
public sealed class TenantEndpointsTests(GatewayFixture gateway)
{
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

    private async Task<HttpStatusCode> Chat(string key, string text = "hello")
    {
        using var client = Client(key);
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_tenant_created_through_the_api_gets_a_key_that_works_and_its_budget_is_enforced()
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var id = "acme-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, name = "Acme", budgets = new { lifetimeTokens = 130 } } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await Json(created);
        var key = body.GetProperty("key").GetProperty("key").GetString()!;
        Assert.StartsWith("sk-lr-", key, StringComparison.Ordinal);
        Assert.DoesNotContain(key, body.GetProperty("tenant").GetRawText(), StringComparison.Ordinal); // only hashes are kept

        Assert.Equal(HttpStatusCode.OK, await Chat(key));
        Assert.Equal(HttpStatusCode.PaymentRequired, await Chat(key, "this one is over the lifetime budget"));

        using var get = await admin.GetAsync($"/api/v1/tenants/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(130, (await Json(get)).GetProperty("settings").GetProperty("budgets").GetProperty("lifetimeTokens").GetInt32());

        // Raising the budget applies at once.
        using var updated = await admin.PutAsJsonAsync($"/api/v1/tenants/{id}", new { id, budgets = new { lifetimeTokens = 100000 } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await Chat(key, "now within budget"));
    }

    [Fact]
    public async Task A_weekly_budget_set_through_the_api_is_enforced_and_shown()
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var id = "weekly-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, budgets = new { weeklyTokens = 130 } } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await Json(created)).GetProperty("key").GetProperty("key").GetString()!;

        Assert.Equal(HttpStatusCode.OK, await Chat(key));
        using (var client = Client(key))
        using (var refused = await client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","max_tokens":100,"messages":[{"role":"user","content":"over the week"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            Assert.Equal("weekly", (await Json(refused)).GetProperty("error").GetProperty("window").GetString());
        }

        using var get = await admin.GetAsync($"/api/v1/tenants/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(130, (await Json(get)).GetProperty("settings").GetProperty("budgets").GetProperty("weeklyTokens").GetInt32());
        using var negative = await admin.PutAsJsonAsync($"/api/v1/tenants/{id}", new { id, budgets = new { weeklyUsd = -1 } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
    }

    [Fact]
    public async Task Keys_can_be_rotated_and_revoked_and_a_deleted_tenant_is_locked_out()
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var id = "rot-" + Guid.NewGuid().ToString("N")[..8];
        var created = await Json(await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id } }, TestContext.Current.CancellationToken));
        var first = created.GetProperty("key");
        var oldKey = first.GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await Chat(oldKey));

        var rotated = await Json(await admin.PostAsJsonAsync($"/api/v1/tenants/{id}/keys/{first.GetProperty("keyId").GetString()}/rotate", new { overlapSeconds = 0 }, TestContext.Current.CancellationToken));
        var newKey = rotated.GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.Unauthorized, await Chat(oldKey));
        Assert.Equal(HttpStatusCode.OK, await Chat(newKey));

        using (var revoked = await admin.DeleteAsync($"/api/v1/tenants/{id}/keys/{rotated.GetProperty("keyId").GetString()}", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Chat(newKey));
        var issued = await Json(await admin.PostAsync($"/api/v1/tenants/{id}/keys", null, TestContext.Current.CancellationToken));
        var third = issued.GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await Chat(third));

        using (var deleted = await admin.DeleteAsync($"/api/v1/tenants/{id}", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Chat(third));
        using var gone = await admin.GetAsync($"/api/v1/tenants/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("{\"settings\":{\"id\":\"bad id with spaces\"}}", 400)]
    [InlineData("{\"settings\":{\"id\":\"neg\",\"budgets\":{\"dailyUsd\":-1}}}", 400)]
    [InlineData("{\"settings\":{\"id\":\"tz\",\"timeZone\":\"Mars/Olympus\"}}", 400)]
    [InlineData("{\"settings\":{\"id\":\"models\",\"allowedModels\":[\"no-such-model\"]}}", 400)]
    [InlineData("{\"settings\":{\"id\":\"dev\"}}", 409)]
    [InlineData("{\"settings\":", 400)]
    [InlineData("[]", 400)]
    public async Task Invalid_tenants_are_rejected_with_problem_details(string body, int status)
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        using var response = await admin.PostAsync("/api/v1/tenants", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Tenant_routes_need_the_admin_key()
    {
        using var tenant = Client(GatewayFixture.DevKey);
        using var response = await tenant.GetAsync("/api/v1/tenants", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var list = await Json(await admin.GetAsync("/api/v1/tenants", TestContext.Current.CancellationToken));
        Assert.Contains(list.EnumerateArray(), t => t.GetProperty("id").GetString() == "dev" && t.GetProperty("source").GetString() == "yaml");
    }
}

[Collection(GatewayCollection.Name)]
public sealed class TenantRateLimitTests(GatewayFixture gateway)
{
    [Fact]
    public async Task A_tenant_over_its_rpm_gets_429_with_retry_after()
    {
        using var admin = new HttpClient { BaseAddress = gateway.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminEndpointsTests.AdminKey);
        var id = "rpm-" + Guid.NewGuid().ToString("N")[..8];
        var created = JsonDocument.Parse(await (await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, requestsPerMinute = 2 } }, TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        using var tenant = new HttpClient { BaseAddress = gateway.BaseAddress };
        tenant.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.GetProperty("key").GetProperty("key").GetString());

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await tenant.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","max_tokens":20,"messages":[{"role":"user","content":"quick"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken));
        }

        var limited = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited); // 5 calls cannot all fit 2 per minute, even across a minute boundary
        var first = limited[0];
        Assert.InRange(int.Parse(first.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        var error = JsonDocument.Parse(await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("type").GetString());
        Assert.Equal("requests_per_minute", error.GetProperty("code").GetString());
        statuses.ForEach(s => s.Dispose());
    }
}
