using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.Admin;

/// <summary>
/// <c>GET /api/v1/runtime</c> is admin-only; it shows this process's memory and threads, the calls it holds in flight
/// (none once every call has ended) and the cluster's activations by grain type.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RuntimeEndpointTests(GatewayFixture gateway)
{
    private HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task A_tenant_key_is_refused()
    {
        using var client = Client(GatewayFixture.DevKey);
        using var response = await client.GetAsync("/api/v1/runtime", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task After_a_call_has_ended_nothing_is_held_and_its_grains_are_counted()
    {
        var cancel = TestContext.Current.CancellationToken;
        using (var tenant = Client(GatewayFixture.DevKey))
        using (var call = await tenant.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_small","messages":[{"role":"user","content":"runtime view"}]}""", Encoding.UTF8, "application/json"), cancel))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        // Calls of earlier tests in this collection (an abandoned stream drains in the background) end within seconds.
        using var admin = Client(AdminEndpointsTests.AdminKey);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        JsonElement view;
        while (true)
        {
            view = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/api/v1/runtime?gc=full", UriKind.Relative), cancel)).RootElement;
            if (view.GetProperty("callsRunning").GetInt32() == 0 && view.GetProperty("providerCallsActive").GetInt32() == 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < until, $"calls still held 20 s after they ended: {view}");
            await Task.Delay(100, cancel);
        }

        Assert.True(view.GetProperty("workingSetBytes").GetInt64() > 0);
        Assert.True(view.GetProperty("liveHeapBytes").GetInt64() > 0);
        Assert.True(view.GetProperty("threads").GetInt32() > 0);
        var byType = view.GetProperty("activationsByType").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Contains(byType, kv => kv.Key.Contains("budget", StringComparison.OrdinalIgnoreCase) && kv.Value > 0);
        Assert.Equal(byType.Values.Sum(), view.GetProperty("activations").GetInt32());
    }
}
