using System.Net;
using System.Text;
using System.Text.Json;

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
}
