using System.Net;
using System.Text.Json;
using static Orleans.LlmRouter.Host.Tests.SurfaceHttp;

namespace Orleans.LlmRouter.Host.Tests.Responses;

/// <summary>
/// Stored responses over HTTP on a fake router clock (<see cref="FakeClockGatewayFixture"/>, retention one hour): kept
/// for the retention and no longer, each from its own creation, per tenant, until deleted.
/// </summary>
[Collection(FakeClockGatewayCollection.Name)]
public sealed class ResponseRetentionTests(FakeClockGatewayFixture gateway)
{
    private const string DemoKey = "sk-llmrouter-demo-b";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private HttpClient Http(string key = GatewayFixture.DevKey) => SurfaceHttp.Client(gateway.BaseAddress, key);

    private static async Task<string> CreateAsync(HttpClient http, string body)
    {
        using var created = await http.PostAsync("/v1/responses", Json(body), Cancel);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await ReadJsonAsync(created)).GetProperty("id").GetString()!;
    }

    /// <summary>404 in the OpenAI shape: <c>{"error":{"message","type":"invalid_request_error","param","code":"not_found"}}</c>.</summary>
    private static async Task AssertNotFoundAsync(HttpResponseMessage response, string? param)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("not_found", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (param is null)
        {
            Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        }
        else
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task A_stored_response_is_readable_and_continuable_until_its_retention_ends_then_404()
    {
        using var http = Http();
        var tag = Guid.NewGuid().ToString("N");
        var id = await CreateAsync(http, $$"""{"model":"mock-gpt","input":"remember {{tag}}"}""");

        // Just before the end of the retention: readable, and a follow-up continues from it (and is stored in turn).
        gateway.Clock.Advance(FakeClockGatewayFixture.Retention - TimeSpan.FromMinutes(1));
        using (var get = await http.GetAsync($"/v1/responses/{id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(id, (await ReadJsonAsync(get)).GetProperty("id").GetString());
        }

        var followUp = await CreateAsync(http, $$"""{"model":"mock-gpt","previous_response_id":"{{id}}","input":"what was it? {{tag}}"}""");
        var sent = gateway.Mock.Requests.Last(r => r.Body.Contains("what was it? " + tag, StringComparison.Ordinal));
        Assert.Contains("remember " + tag, sent.Body, StringComparison.Ordinal); // the stored conversation went upstream

        // Past it: the response reads as not found, cannot be continued from or deleted; the follow-up, created 59
        // minutes later and kept for its own full retention, is still there.
        gateway.Clock.Advance(TimeSpan.FromMinutes(2));
        using (var expired = await http.GetAsync($"/v1/responses/{id}", Cancel))
        {
            await AssertNotFoundAsync(expired, null);
        }

        using (var continued = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-gpt","previous_response_id":"{{id}}","input":"and now?"}"""), Cancel))
        {
            await AssertNotFoundAsync(continued, "previous_response_id");
        }

        using (var deleteExpired = await http.DeleteAsync($"/v1/responses/{id}", Cancel))
        {
            await AssertNotFoundAsync(deleteExpired, null);
        }

        using (var young = await http.GetAsync($"/v1/responses/{followUp}", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, young.StatusCode);
        }

        gateway.Clock.Advance(FakeClockGatewayFixture.Retention);
        using (var old = await http.GetAsync($"/v1/responses/{followUp}", Cancel))
        {
            await AssertNotFoundAsync(old, null);
        }
    }

    [Fact]
    public async Task A_stored_response_is_404_for_another_tenant_and_gone_once_deleted()
    {
        using var http = Http();
        var id = await CreateAsync(http, """{"model":"mock-gpt","input":"mine only"}""");

        using var demo = Http(DemoKey);
        using (var foreign = await demo.GetAsync($"/v1/responses/{id}", Cancel))
        {
            await AssertNotFoundAsync(foreign, null);
        }

        using (var foreignDelete = await demo.DeleteAsync($"/v1/responses/{id}", Cancel))
        {
            await AssertNotFoundAsync(foreignDelete, null);
        }

        using (var deleted = await http.DeleteAsync($"/v1/responses/{id}", Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            var body = await ReadJsonAsync(deleted);
            Assert.Equal((id, "response", true), (body.GetProperty("id").GetString(), body.GetProperty("object").GetString(), body.GetProperty("deleted").GetBoolean()));
        }

        using (var gone = await http.GetAsync($"/v1/responses/{id}", Cancel))
        {
            await AssertNotFoundAsync(gone, null);
        }

        using (var continued = await http.PostAsync("/v1/responses", Json($$"""{"model":"mock-gpt","previous_response_id":"{{id}}","input":"and?"}"""), Cancel))
        {
            await AssertNotFoundAsync(continued, "previous_response_id");
        }
    }
}
