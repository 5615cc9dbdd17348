using System.Net;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

[Collection(GatewayCollection.Name)]
public sealed class EmbeddingsTests(GatewayFixture gateway)
{
    private async Task<(HttpResponseMessage Response, JsonElement Body)> Post(string body)
    {
        var response = await gateway.Client.PostAsync("/v1/embeddings", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        return (response, JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement);
    }

    [Fact]
    public async Task Embeddings_come_back_in_the_openai_shape_in_input_order()
    {
        var (response, body) = await Post("""{"model":"action:embedding","input":["alpha","beta"]}""");
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sim-embed", body.GetProperty("model").GetString());
            var data = body.GetProperty("data").EnumerateArray().ToList();
            Assert.Equal([0, 1], data.Select(d => d.GetProperty("index").GetInt32()));
            Assert.Equal(16, data[0].GetProperty("embedding").GetArrayLength());
            Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        }

        var (again, second) = await Post("""{"model":"sim-embed","input":"alpha","dimensions":8,"encoding_format":"base64"}""");
        using (again)
        {
            var bytes = Convert.FromBase64String(second.GetProperty("data")[0].GetProperty("embedding").GetString()!);
            Assert.Equal(8 * sizeof(float), bytes.Length);
        }
    }

    [Theory]
    [InlineData("""{"model":"sim-embed"}""")]
    [InlineData("""{"model":"sim-embed","input":[]}""")]
    [InlineData("""{"model":"sim-embed","input":[1,2]}""")]
    [InlineData("""{"model":"sim-embed","input":"x","encoding_format":"hex"}""")]
    public async Task Bad_embedding_requests_are_400(string body)
    {
        var (response, json) = await Post(body);
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task A_chat_model_cannot_embed()
    {
        var (response, body) = await Post("""{"model":"sim-small","input":"x"}""");
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // the caller's error, not a failed route
            Assert.Contains("lacks capability embedding", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }
}
