using System.Net;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>Readiness is the first thing a stopping gateway gives up: taken out of rotation before it stops listening.</summary>
public sealed class DrainReadinessTests
{
    [Fact]
    public async Task Once_stopping_is_requested_readyz_answers_503_draining_while_requests_are_still_served()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = GatewayHost.Build(
        [
            $"--LlmRouter:ConfigPath={Path.Combine(AppContext.BaseDirectory, "shipped-config")}", "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}", $"--LlmRouter:GatewayPort={GatewayFixture.FreePort()}", $"--LlmRouter:ClusterId=drain-{Guid.NewGuid():N}",
        ]);
        await app.StartAsync(ct);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.DevKey);
        using (var before = await client.GetAsync("/readyz", ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // What SIGTERM does first (the stop proper follows after LlmRouter:DrainDelaySeconds).
        app.Lifetime.StopApplication();

        using (var ready = await client.GetAsync("/readyz", ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("\"draining\"", await ready.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        using (var health = await client.GetAsync("/healthz", ct))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode); // alive: liveness must not restart a draining pod
        }

        using (var call = await client.PostAsync(
            "/v1/chat/completions",
            new StringContent("""{"model":"action:chat_small","max_tokens":20,"messages":[{"role":"user","content":"served while draining"}]}""", System.Text.Encoding.UTF8, "application/json"),
            ct))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        await app.StopAsync(ct);
    }
}
