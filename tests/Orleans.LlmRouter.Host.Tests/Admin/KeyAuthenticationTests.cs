using System.Net;
using System.Text.Json;
using Orleans.LlmRouter.Host.Admin;

namespace Orleans.LlmRouter.Host.Tests.Admin;

/// <summary>Keys through the LlmRouterKey scheme and the tenant / admin / tenant-or-admin policies.</summary>
[Collection(GatewayCollection.Name)]
public sealed class KeyAuthenticationTests(GatewayFixture gateway)
{
    private HttpClient Client(string header, string key)
    {
        var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        client.DefaultRequestHeaders.TryAddWithoutValidation(header, header == "Authorization" ? "Bearer " + key : key);
        return client;
    }

    [Fact]
    public async Task A_tenant_key_works_as_bearer_or_x_api_key_and_the_admin_key_is_no_tenant_key()
    {
        using var bearer = Client("Authorization", GatewayFixture.DevKey);
        using var apiKey = Client("x-api-key", GatewayFixture.DevKey);
        using var admin = Client("Authorization", AdminEndpointsTests.AdminKey);
        using (var r = await bearer.GetAsync("/v1/models", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var r = await apiKey.GetAsync("/v1/models", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using var denied = await admin.GetAsync("/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        using var body = JsonDocument.Parse(await denied.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("invalid_api_key", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_admin_key_opens_admin_routes_and_a_tenant_reads_only_its_own_usage()
    {
        using var admin = Client("x-api-key", AdminEndpointsTests.AdminKey);
        using (var r = await admin.GetAsync("/api/v1/models", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using var tenant = Client("x-api-key", GatewayFixture.DevKey);
        using (var r = await tenant.GetAsync("/api/v1/models", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }

        using (var r = await tenant.GetAsync("/api/v1/tenants/dev/usage", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using var other = await tenant.GetAsync("/api/v1/tenants/demo/usage", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
    }
}
