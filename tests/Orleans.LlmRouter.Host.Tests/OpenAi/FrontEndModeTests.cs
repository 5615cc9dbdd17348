using System.Net;
using System.Text;
using System.Text.Json;
using Orleans.LlmRouter.MockUpstream;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>The same surface served by a separate front end (Orleans client) in front of a silo-only process.</summary>
[Collection(FrontEndCollection.Name)]
public sealed class FrontEndModeTests(FrontEndFixture fx)
{
    [Fact]
    public async Task A_front_end_process_routes_chat_through_the_silos()
    {
        using var response = await fx.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_small","messages":[{"role":"user","content":"through the client"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Contains("through the client", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal("simulated", response.Headers.GetValues("X-LlmRouter-Provider").Single());
    }

    [Fact]
    public async Task A_front_end_streams_and_rejects_bad_keys()
    {
        using var stream = await fx.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"stream via client"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var body = await stream.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);

        using var anonymous = new HttpClient { BaseAddress = fx.Client.BaseAddress };
        using var denied = await anonymous.PostAsync("/v1/chat/completions", new StringContent("""{"model":"sim-small","messages":[{"role":"user","content":"x"}]}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
    }

    [Fact]
    public async Task Both_processes_are_ready_and_only_the_front_end_serves_the_api()
    {
        using var ready = await fx.Client.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var silo = new HttpClient { BaseAddress = fx.SiloAddress };
        using var siloReady = await silo.GetAsync("/readyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, siloReady.StatusCode);
        using var siloApi = await silo.PostAsync("/v1/chat/completions", new StringContent("{}", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, siloApi.StatusCode);
    }

    [Fact]
    public async Task Calls_that_outlast_several_router_probes_are_not_mistaken_for_lost_ones()
    {
        // The front end probes calls older than 2 s every second and gives up on one its router no longer runs after two
        // misses; 6 s upstream is four probes: a wrong answer would turn these into 503s.
        var cancel = TestContext.Current.CancellationToken;
        fx.Mock.Timing = new MockTiming(TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(6), TimeSpan.Zero);
        try
        {
            var complete = fx.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"mock-gpt","messages":[{"role":"user","content":"long call"}]}""", Encoding.UTF8, "application/json"), cancel);
            var stream = fx.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"long stream"}]}""", Encoding.UTF8, "application/json"), cancel);

            using var completed = await complete;
            Assert.Equal(HttpStatusCode.OK, completed.StatusCode);
            Assert.Contains("long call", await completed.Content.ReadAsStringAsync(cancel), StringComparison.Ordinal);

            using var streamed = await stream;
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            var body = await streamed.Content.ReadAsStringAsync(cancel);
            Assert.DoesNotContain("cluster_unavailable", body, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        }
        finally
        {
            fx.Mock.Timing = MockTiming.Instant;
        }
    }
}
