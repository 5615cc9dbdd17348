using System.Net;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.Surfaces;

/// <summary>
/// The response cache over HTTP: every surface says how the cache served a request (<c>X-LlmRouter-Cache</c>), reads
/// the cache headers (a malformed one is a 400 in the surface's shape), and the admin API sizes and purges a tenant's cache.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class ResponseCacheHttpTests(GatewayFixture gateway)
{
    private const string AdminKey = "sk-llmrouter-admin-dev";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string Marker() => Guid.NewGuid().ToString("N")[..12];

    private int Upstream(string marker) => gateway.Mock.Requests.Count(r => r.Body.Contains(marker, StringComparison.Ordinal));

    private async Task<HttpResponseMessage> ChatAsync(string marker, string? cache = null, bool stream = false, (string, string)? header = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = SurfaceHttp.Json($$"""{"model":"mock-gpt","messages":[{"role":"user","content":"cache me {{marker}}"}],"stream":{{(stream ? "true,\"stream_options\":{\"include_usage\":true}" : "false")}}}"""),
        };
        if (cache is not null)
        {
            request.Headers.Add("X-LlmRouter-Cache", cache);
        }

        if (header is { } h)
        {
            request.Headers.TryAddWithoutValidation(h.Item1, h.Item2);
        }

        return await gateway.Client.SendAsync(request, Cancel);
    }

    private static string CacheHeader(HttpResponseMessage response) => response.Headers.GetValues("X-LlmRouter-Cache").Single();

    [Fact]
    public async Task A_chat_completion_says_bypass_miss_then_hit_and_a_hit_costs_nothing_and_calls_no_upstream()
    {
        var marker = Marker();
        using var plain = await ChatAsync(marker);
        Assert.Equal("bypass", CacheHeader(plain));

        using var miss = await ChatAsync(marker, "use");
        using var hit = await ChatAsync(marker, "use");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("miss", CacheHeader(miss));
        Assert.Equal("hit", CacheHeader(hit));
        Assert.Equal("0", hit.Headers.GetValues("X-LlmRouter-Cost-Usd").Single());
        var missBody = await SurfaceHttp.ReadJsonAsync(miss);
        var hitBody = await SurfaceHttp.ReadJsonAsync(hit);
        Assert.Equal(missBody.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), hitBody.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(missBody.GetProperty("usage").GetProperty("total_tokens").GetInt64(), hitBody.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.NotEqual(missBody.GetProperty("id").GetString(), hitBody.GetProperty("id").GetString());
        Assert.Equal(2, Upstream(marker));

        using var noStore = await ChatAsync(marker, "use", header: ("Cache-Control", "no-store"));
        Assert.Equal("bypass", CacheHeader(noStore));
        using var noCache = await ChatAsync(marker, "use", header: ("Cache-Control", "no-cache"));
        Assert.Equal("miss", CacheHeader(noCache));
        Assert.Equal(4, Upstream(marker));
    }

    [Fact]
    public async Task A_streamed_hit_replays_the_same_events_with_usage()
    {
        var marker = Marker();
        using var miss = await ChatAsync(marker, "use", stream: true);
        var missEvents = SurfaceHttp.ParseSse(await miss.Content.ReadAsStringAsync(Cancel));
        using var hit = await ChatAsync(marker, "use", stream: true);
        var hitEvents = SurfaceHttp.ParseSse(await hit.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("miss", CacheHeader(miss));
        Assert.Equal("hit", CacheHeader(hit));
        Assert.Equal(1, Upstream(marker));
        Assert.Equal(Text(missEvents), Text(hitEvents));
        Assert.True(Text(hitEvents).Length > 0);
        var usage = Assert.Single(hitEvents, e => e.Data.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object).Data.GetProperty("usage");
        Assert.True(usage.GetProperty("completion_tokens").GetInt64() > 0);
    }

    [Fact]
    public async Task The_messages_surface_caches_too()
    {
        var marker = Marker();
        using var client = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey, anthropicHeader: true);
        client.DefaultRequestHeaders.Add("X-LlmRouter-Cache", "use");
        var body = $$"""{"model":"mock-gpt","max_tokens":50,"messages":[{"role":"user","content":"anthropic cache {{marker}}"}]}""";
        using var miss = await client.PostAsync("/v1/messages", SurfaceHttp.Json(body), Cancel);
        using var hit = await client.PostAsync("/v1/messages", SurfaceHttp.Json(body), Cancel);
        Assert.Equal("miss", CacheHeader(miss));
        Assert.Equal("hit", CacheHeader(hit));
        Assert.Equal((await SurfaceHttp.ReadJsonAsync(miss)).GetProperty("content")[0].GetProperty("text").GetString(), (await SurfaceHttp.ReadJsonAsync(hit)).GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(1, Upstream(marker));
    }

    [Theory]
    [InlineData("X-LlmRouter-Cache", "sometimes")]
    [InlineData("X-LlmRouter-Cache-Ttl", "0")]
    [InlineData("X-LlmRouter-Cache-Ttl", "604801")]
    [InlineData("X-LlmRouter-Cache-Ttl", "soon")]
    [InlineData("Cache-Control", "max-age=ten")]
    public async Task A_malformed_cache_header_is_a_400_in_each_surface_shape(string name, string value)
    {
        using var openAi = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = SurfaceHttp.Json("""{"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]}"""),
        };
        openAi.Headers.TryAddWithoutValidation(name, value);
        using var openAiResponse = await gateway.Client.SendAsync(openAi, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, openAiResponse.StatusCode);
        var error = (await SurfaceHttp.ReadJsonAsync(openAiResponse)).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(name, error.GetProperty("param").GetString());

        using var client = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey, anthropicHeader: true);
        using var anthropic = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = SurfaceHttp.Json("""{"model":"mock-gpt","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""),
        };
        anthropic.Headers.TryAddWithoutValidation(name, value);
        using var anthropicResponse = await client.SendAsync(anthropic, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, anthropicResponse.StatusCode);
        var body = await SurfaceHttp.ReadJsonAsync(anthropicResponse);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task The_admin_api_sizes_and_purges_a_tenant_cache_and_usage_reports_hits_and_savings()
    {
        var marker = Marker();
        using (await ChatAsync(marker, "use"))
        using (var hit = await ChatAsync(marker, "use"))
        {
            Assert.Equal("hit", CacheHeader(hit));
        }

        using var admin = SurfaceHttp.Client(gateway.BaseAddress, AdminKey);
        var size = await SurfaceHttp.ReadJsonAsync(await admin.GetAsync("/api/v1/tenants/dev/cache", Cancel));
        Assert.Equal("t:dev", size.GetProperty("namespace").GetString());
        Assert.True(size.GetProperty("entries").GetInt32() >= 1);

        var usage = await SurfaceHttp.UsageAsync(gateway.BaseAddress, "dev");
        Assert.True(usage.GetProperty("totals").GetProperty("cacheHits").GetInt64() >= 1);
        Assert.True(usage.GetProperty("totals").GetProperty("savedUsd").GetDecimal() > 0m);

        using var purge = await admin.DeleteAsync("/api/v1/tenants/dev/cache", Cancel);
        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        var purged = await SurfaceHttp.ReadJsonAsync(purge);
        Assert.True(purged.GetProperty("purged").GetInt32() >= 1);
        Assert.Equal(0, purged.GetProperty("entries").GetInt32());
        using var after = await ChatAsync(marker, "use");
        Assert.Equal("miss", CacheHeader(after));

        using var unknown = await admin.DeleteAsync("/api/v1/tenants/nobody/cache", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var asTenant = await gateway.Client.DeleteAsync("/api/v1/tenants/dev/cache", Cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, asTenant.StatusCode); // admin only, as every admin route
    }

    private static string Text(List<(string? Event, JsonElement Data)> events) => string.Concat(events
        .Where(e => e.Data.TryGetProperty("choices", out var c) && c.GetArrayLength() > 0 && c[0].TryGetProperty("delta", out var d) && d.TryGetProperty("content", out var t) && t.ValueKind == JsonValueKind.String)
        .Select(e => e.Data.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
}
