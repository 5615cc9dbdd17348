using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Host.Tests.Admin;
using Orleans.LlmRouter.Ledger;
using static Orleans.LlmRouter.Host.Tests.SurfaceHttp;

namespace Orleans.LlmRouter.Host.Tests.Surfaces;

/// <summary>
/// Issue 32 over HTTP: a call refused because every candidate is at a limit of ours is a retryable answer with
/// Retry-After in the surface's shape — 503 on the OpenAI surfaces, 529 <c>overloaded_error</c> on Anthropic's for
/// provider capacity, 429 for the tenant's own limits — never 502 <c>all_models_failed</c>; the ledger row names the limit.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CapacityRefusalTests(GatewayFixture gateway)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>
    /// Holds the one slot of <c>mockcap</c> (max_concurrency 1) with a call the mock never answers, waits until the
    /// gateway counts it in flight, runs <paramref name="refused"/> and checks its answer, then cancels the slow call.
    /// </summary>
    private async Task WhileTheSlotIsHeld(Func<Task<HttpResponseMessage>> refused, Func<HttpResponseMessage, Task> check)
    {
        var gate = gateway.Services.GetRequiredService<Grains.Providers.ProviderGate>();
        for (var i = 0; i < 400 && gate.LocalScopes().Any(s => s.Scope == "mockcap" && s.InFlight > 0); i++)
        {
            await Task.Delay(25, Cancel); // the slow call of a test before this one is still being cancelled
        }

        using var slow = new CancellationTokenSource();
        using var holder = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey);
        var held = holder.PostAsync("/v1/chat/completions", Json("""{"model":"mock-cap","max_tokens":16,"messages":[{"role":"user","content":"[mock:slow] hold the slot"}]}"""), slow.Token);
        try
        {
            for (var i = 0; i < 400 && !gate.LocalScopes().Any(s => s.Scope == "mockcap" && s.InFlight == 1); i++)
            {
                Assert.False(held.IsCompleted, "the slow call ended before it held the slot");
                await Task.Delay(25, Cancel);
            }

            Assert.Contains(gate.LocalScopes(), s => s.Scope == "mockcap" && s.InFlight == 1);
            using var response = await refused();
            await check(response);
        }
        finally
        {
            await slow.CancelAsync();
            try
            {
                using var answered = await held;
                Assert.Fail($"the slow call was answered: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync(Cancel)}");
            }
            catch (OperationCanceledException)
            {
                // the slow call was cancelled, as meant
            }
        }
    }

    [Fact]
    public async Task At_max_concurrency_the_openai_surface_answers_503_with_retry_after_and_the_ledger_names_the_limit()
    {
        using var http = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey);
        string? requestId = null;
        await WhileTheSlotIsHeld(
            () => http.PostAsync("/v1/chat/completions", Json("""{"model":"mock-cap","max_tokens":16,"messages":[{"role":"user","content":"refused"}]}"""), Cancel),
            async response =>
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                Assert.Equal("true", response.Headers.GetValues("x-should-retry").Single());
                var error = (await ReadJsonAsync(response)).GetProperty("error");
                Assert.Equal("service_unavailable", error.GetProperty("type").GetString());
                Assert.Equal("concurrency_limit", error.GetProperty("code").GetString());
                Assert.Contains("max concurrency (1)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
                requestId = response.Headers.GetValues("X-Request-Id").Single();
            });

        var ledger = gateway.Services.GetRequiredService<ILedger>();
        LedgerRecord? row = null;
        await foreach (var r in ledger.ReadAfterAsync("dev", long.MinValue, Cancel))
        {
            if (r.RequestId == requestId)
            {
                row = r;
            }
        }

        Assert.NotNull(row);
        Assert.False(row.Success);
        Assert.Equal("concurrency_limit", row.ErrorClass);
    }

    [Fact]
    public async Task At_max_concurrency_the_anthropic_surface_answers_529_overloaded_error_with_retry_after()
    {
        using var http = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey, anthropicHeader: true);
        await WhileTheSlotIsHeld(
            () => http.PostAsync("/v1/messages", Json("""{"model":"mock-cap","max_tokens":16,"messages":[{"role":"user","content":"refused"}]}"""), Cancel),
            async response =>
            {
                Assert.Equal((HttpStatusCode)529, response.StatusCode);
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                var body = await ReadJsonAsync(response);
                Assert.Equal("error", body.GetProperty("type").GetString());
                Assert.Equal("overloaded_error", body.GetProperty("error").GetProperty("type").GetString());
            });
    }

    [Fact]
    public async Task At_max_concurrency_the_responses_surface_answers_503_with_retry_after()
    {
        using var http = SurfaceHttp.Client(gateway.BaseAddress, GatewayFixture.DevKey);
        await WhileTheSlotIsHeld(
            () => http.PostAsync("/v1/responses", Json("""{"model":"mock-cap","max_output_tokens":16,"input":"refused"}"""), Cancel),
            async response =>
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                Assert.Equal("concurrency_limit", (await ReadJsonAsync(response)).GetProperty("error").GetProperty("code").GetString());
            });
    }

    [Fact]
    public async Task A_tenant_over_its_rpm_gets_429_rate_limit_error_with_retry_after_on_the_anthropic_surface()
    {
        using var admin = new HttpClient { BaseAddress = gateway.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminEndpointsTests.AdminKey);
        var id = "rpm-msg-" + Guid.NewGuid().ToString("N")[..8];
        using var create = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, requestsPerMinute = 2 } }, Cancel);
        var key = JsonDocument.Parse(await create.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("key").GetProperty("key").GetString();
        using var tenant = SurfaceHttp.Client(gateway.BaseAddress, key, anthropicHeader: true);

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            responses.Add(await tenant.PostAsync("/v1/messages", Json("""{"model":"sim-small","max_tokens":16,"messages":[{"role":"user","content":"quick"}]}"""), Cancel));
        }

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited); // 5 calls cannot all fit 2 per minute, even across a minute boundary
        Assert.InRange(int.Parse(limited[0].Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("rate_limit_error", (await ReadJsonAsync(limited[0])).GetProperty("error").GetProperty("type").GetString());
        Assert.DoesNotContain(responses, r => r.StatusCode is HttpStatusCode.BadGateway);
        responses.ForEach(r => r.Dispose());
    }
}
