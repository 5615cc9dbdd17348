using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.Admin;

/// <summary>Projects, keys and end users through the admin API, and their budgets through the chat surfaces over real HTTP.</summary>
[Collection(GatewayCollection.Name)]
public sealed class BudgetLevelEndpointsTests(GatewayFixture gateway)
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

    private async Task<HttpResponseMessage> Chat(string key, string text, string? user = null, string? endUserHeader = null, string path = "/v1/chat/completions")
    {
        using var client = Client(key);
        client.DefaultRequestHeaders.Add("x-api-key", key);
        if (endUserHeader is not null)
        {
            client.DefaultRequestHeaders.Add("X-LlmRouter-End-User", endUserHeader);
        }

        var body = path == "/v1/messages"
            ? JsonSerializer.Serialize(new { model = "sim-small", max_tokens = 100, metadata = new { user_id = user }, messages = new[] { new { role = "user", content = text } } })
            : JsonSerializer.Serialize(new { model = "sim-small", max_tokens = 100, user, messages = new[] { new { role = "user", content = text } } });
        return await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_tenant_with_a_project_keys_and_an_end_user_enforces_each_level_and_reports_and_reconciles_them()
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var ct = TestContext.Current.CancellationToken;
        var t = "lv-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id = t, budgets = new { lifetimeTokens = 100000 } }, issueKey = false }, ct)).StatusCode);
        using (var project = await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/projects", new { settings = new { id = "app", budgets = new { lifetimeTokens = 5000 }, requestsPerMinute = 1000 } }, ct))
        {
            Assert.Equal(HttpStatusCode.Created, project.StatusCode);
        }

        using var tooBig = await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { project = "app", budgets = new { lifetimeTokens = 6000 } }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooBig.StatusCode);
        var detail = (await Json(tooBig)).GetProperty("detail").GetString()!;
        Assert.Contains("project 'app'", detail, StringComparison.Ordinal);
        Assert.Contains("is above", detail, StringComparison.Ordinal);

        using var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { project = "app", label = "ci", budgets = new { lifetimeTokens = 300 }, requestsPerMinute = 100 }, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var issued = await Json(created);
        var key = issued.GetProperty("key").GetString()!;
        var keyId = issued.GetProperty("id").GetString()!;
        Assert.Equal("app", issued.GetProperty("project").GetString());

        var other = (await Json(await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { project = "app" }, ct))).GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/v1/tenants/{t}/end-users/alice", new { budgets = new { lifetimeTokens = 250 } }, ct)).StatusCode);

        // The key's budget: refused as the key, in the OpenAI shape.
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 30 && refused is null; i++)
        {
            var r = await Chat(key, $"spend {i}");
            if (r.StatusCode == HttpStatusCode.PaymentRequired)
            {
                refused = r;
            }
        }

        Assert.NotNull(refused);
        var error = (await Json(refused)).GetProperty("error");
        Assert.Equal(("key", keyId, "lifetime", "tokens"), (error.GetProperty("level").GetString(), error.GetProperty("level_id").GetString(), error.GetProperty("window").GetString(), error.GetProperty("unit").GetString()));

        // The end user's budget, named by Anthropic's metadata.user_id, refused as the end user in the Anthropic shape.
        JsonElement? userError = null;
        for (var i = 0; i < 30 && userError is null; i++)
        {
            var r = await Chat(other, $"alice {i}", user: "alice", path: "/v1/messages");
            if (r.StatusCode == HttpStatusCode.PaymentRequired)
            {
                userError = (await Json(r)).GetProperty("error");
            }
        }

        Assert.NotNull(userError);
        Assert.Equal(("end_user", "alice"), (userError.Value.GetProperty("level").GetString(), userError.Value.GetProperty("level_id").GetString()));

        // The header wins over the body's user: bob (no budget) is served although the body names alice.
        Assert.Equal(HttpStatusCode.OK, (await Chat(other, "bob via header", user: "alice", endUserHeader: "bob")).StatusCode);

        // An embeddings call's body names its end user too.
        using (var embedder = Client(other))
        using (var embedded = await embedder.PostAsync("/v1/embeddings", new StringContent("""{"model":"sim-embed","input":"hello","user":"embedding-user"}""", Encoding.UTF8, "application/json"), ct))
        {
            Assert.Equal(HttpStatusCode.OK, embedded.StatusCode);
        }

        // Usage by key and by end user, JSON and CSV, from the ledger.
        var byKey = await Json(await admin.GetAsync($"/api/v1/tenants/{t}/usage?groupBy=key", ct));
        Assert.Contains(byKey.GetProperty("usage").EnumerateArray(), u => u.GetProperty("id").GetString() == keyId && u.GetProperty("calls").GetInt64() > 0);
        using var csv = await admin.GetAsync($"/api/v1/tenants/{t}/usage?groupBy=endUser&format=csv", ct);
        var text = await csv.Content.ReadAsStringAsync(ct);
        Assert.StartsWith("endUser,day,model,calls", text, StringComparison.Ordinal);
        Assert.Contains("\nbob,", text, StringComparison.Ordinal);
        Assert.Contains("\nembedding-user,", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"/api/v1/tenants/{t}/usage?groupBy=planet", ct)).StatusCode);

        // Every level's counters equal its ledger rows; keys list no secret, with a last-used time.
        var reconcile = await Json(await admin.GetAsync($"/api/v1/tenants/{t}/reconcile", ct));
        Assert.True(reconcile.GetProperty("consistent").GetBoolean(), reconcile.GetRawText());
        var levels = reconcile.GetProperty("levels").EnumerateArray().Select(l => (l.GetProperty("level").GetString(), l.GetProperty("id").GetString())).ToList();
        Assert.Contains(("project", "app"), levels);
        Assert.Contains(("key", keyId), levels);
        Assert.Contains(("end_user", "alice"), levels);
        var keys = await admin.GetStringAsync($"/api/v1/tenants/{t}/keys", ct);
        Assert.DoesNotContain(key, keys, StringComparison.Ordinal);
        Assert.Contains("\"lastUsedAt\":\"", keys, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_keeps_the_old_secret_for_the_overlap_and_revocation_stops_a_key()
    {
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var ct = TestContext.Current.CancellationToken;
        var t = "rot-" + Guid.NewGuid().ToString("N")[..8];
        var created = await Json(await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id = t } }, ct));
        var oldKey = created.GetProperty("key").GetProperty("key").GetString()!;
        var keyId = created.GetProperty("key").GetProperty("keyId").GetString()!;

        using var rotated = await admin.PostAsync($"/api/v1/tenants/{t}/keys/{keyId}/rotate", null, ct); // the default overlap: 24 hours
        var body = await Json(rotated);
        Assert.Equal(keyId, body.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Chat(oldKey, "old still works")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Chat(body.GetProperty("key").GetString()!, "new works")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys/{keyId}/rotate", new { overlapSeconds = -1 }, ct)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tenants/{t}/keys/{keyId}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Chat(oldKey, "revoked")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { expiresAt = "2000-01-01T00:00:00Z" }, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { project = "nope" }, ct)).StatusCode);
    }
}
