using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>The Responses API's stored responses on a durable gateway: kept in PostgreSQL grain storage, per tenant.</summary>
[Collection(DurableGatewayCollection.Name)]
public sealed class DurableResponseStoreTests(DurableGatewayFixture fx)
{
    [Fact]
    public async Task A_stored_response_is_a_row_of_grain_storage_readable_by_its_tenant_only_and_gone_once_deleted()
    {
        fx.Database.RequireOrSkip();
        var cancel = TestContext.Current.CancellationToken;
        using var a = fx.Client(DurableGatewayFixture.KeyR);
        using var created = await a.PostAsync("/v1/responses", new StringContent("""{"model":"m","input":"keep me durably"}""", Encoding.UTF8, "application/json"), cancel);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using var doc = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancel));
        var id = doc.RootElement.GetProperty("id").GetString()!;

        Assert.Equal(1, await RowsAsync(id, cancel));
        using var read = await a.GetAsync($"/v1/responses/{id}", cancel);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Contains("keep me durably", await read.Content.ReadAsStringAsync(cancel), StringComparison.Ordinal);

        using var b = fx.Client(DurableGatewayFixture.KeyB);
        using var foreign = await b.GetAsync($"/v1/responses/{id}", cancel);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);

        using var deleted = await a.DeleteAsync($"/v1/responses/{id}", cancel);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using var gone = await a.GetAsync($"/v1/responses/{id}", cancel);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private async Task<long> RowsAsync(string responseId, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(fx.Database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansStorage WHERE GrainIdExtensionString LIKE @key AND PayloadBinary IS NOT NULL", connection);
        command.Parameters.AddWithValue("key", "%tr/" + responseId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
