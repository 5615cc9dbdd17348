using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tests.Budgets;

namespace Orleans.LlmRouter.Grains.Tests.Responses;

/// <summary>The Responses API's store: one grain per (tenant, response id), kept until it expires by the router clock.</summary>
[Collection(BudgetClusterCollection.Name)]
public sealed class ResponseStoreGrainTests(BudgetClusterFixture fx)
{
    private IResponseStoreGrain Store(string tenant, string id) => fx.Cluster.Client.GetStoredResponse(tenant, id);

    private StoredResponse Response(TimeSpan expiresIn) =>
        new("""{"id":"r"}""", """{"messages":[{"role":"user","content":"hi"}]}""", fx.Clock.GetUtcNow(), fx.Clock.GetUtcNow() + expiresIn);

    [Fact]
    public async Task A_stored_response_is_read_by_its_tenant_only_and_deleted_once()
    {
        var id = "resp_" + Guid.NewGuid().ToString("N");
        await Store("tenant-a", id).PutAsync(Response(TimeSpan.FromMinutes(5)));
        Assert.Equal("""{"id":"r"}""", (await Store("tenant-a", id).GetAsync())?.ResponseJson);
        Assert.Null(await Store("tenant-b", id).GetAsync());
        Assert.False(await Store("tenant-b", id).DeleteAsync());

        Assert.True(await Store("tenant-a", id).DeleteAsync());
        Assert.Null(await Store("tenant-a", id).GetAsync());
        Assert.False(await Store("tenant-a", id).DeleteAsync());
    }

    [Fact]
    public async Task An_expired_response_reads_as_absent_and_cannot_be_deleted()
    {
        var id = "resp_" + Guid.NewGuid().ToString("N");
        await Store("tenant-a", id).PutAsync(Response(TimeSpan.FromSeconds(-1)));
        Assert.Null(await Store("tenant-a", id).GetAsync());

        var other = "resp_" + Guid.NewGuid().ToString("N");
        await Store("tenant-a", other).PutAsync(Response(TimeSpan.FromSeconds(-1)));
        Assert.False(await Store("tenant-a", other).DeleteAsync());
    }
}
