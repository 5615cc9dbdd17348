using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>The shipped <c>sim-balanced</c> model (two deployments on the simulated provider) over HTTP.</summary>
[Collection(GatewayCollection.Name)]
public sealed class DeploymentHeaderTests(GatewayFixture gateway)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_provider_header_names_the_deployment_that_answered()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 40; i++)
        {
            using var response = await gateway.Client.PostAsync(
                "/v1/chat/completions",
                Json($$"""{"model":"sim-balanced","messages":[{"role":"user","content":"balanced {{i}}"}]}"""),
                TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sim-balanced", response.Headers.GetValues("X-LlmRouter-Model").Single());
            seen.Add(response.Headers.GetValues("X-LlmRouter-Provider").Single());
        }

        // Weighted 3:1 over 40 calls: both deployments answer (the chance that one never does is below 1e-4).
        Assert.Equal(["simulated; deployment=sim-east", "simulated; deployment=sim-west"], seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_stream_names_its_deployment_too()
    {
        using var response = await gateway.Client.PostAsync(
            "/v1/chat/completions",
            Json("""{"model":"sim-balanced","stream":true,"messages":[{"role":"user","content":"stream"}]}"""),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("simulated; deployment=sim-", response.Headers.GetValues("X-LlmRouter-Provider").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_lists_each_deployment_and_one_can_be_switched_off_at_run_time()
    {
        using var admin = new HttpClient { BaseAddress = gateway.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Admin.AdminEndpointsTests.AdminKey);
        using var health = await admin.GetAsync("/api/v1/health/providers", TestContext.Current.CancellationToken);
        var ids = JsonDocument.Parse(await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement
            .EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Contains("sim-balanced@sim-east", ids);
        Assert.Contains("sim-balanced@sim-west", ids);

        using (var off = await admin.PostAsync("/api/v1/providers/sim-balanced@sim-east/disable", null, TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        }

        try
        {
            for (var i = 0; i < 8; i++)
            {
                using var response = await gateway.Client.PostAsync(
                    "/v1/chat/completions",
                    Json($$"""{"model":"sim-balanced","messages":[{"role":"user","content":"east is off {{i}}"}]}"""),
                    TestContext.Current.CancellationToken);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("simulated; deployment=sim-west", response.Headers.GetValues("X-LlmRouter-Provider").Single());
                Assert.Equal("1", response.Headers.GetValues("X-LlmRouter-Attempts").Single());
            }
        }
        finally
        {
            using var on = await admin.PostAsync("/api/v1/providers/sim-balanced@sim-east/enable", null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        }
    }

    [Theory]
    [InlineData("openai", null, "openai")]
    [InlineData("openai", "openai", "openai")]
    [InlineData("azure-eu", "gpt4o-eu-2", "azure-eu; deployment=gpt4o-eu-2")]
    public void The_header_value_adds_a_deployment_only_when_it_is_not_the_provider(string provider, string? deployment, string expected) =>
        Assert.Equal(expected, Orleans.LlmRouter.Host.OpenAi.ProviderHeader.Value(provider, deployment));
}
