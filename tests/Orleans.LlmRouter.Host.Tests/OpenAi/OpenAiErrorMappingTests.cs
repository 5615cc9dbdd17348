using System.Net;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>The OpenAI surface maps a router failure to one response, whichever endpoint met it.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OpenAiErrorMappingTests(GatewayFixture gateway)
{
    [Fact]
    public async Task Chat_and_embeddings_answer_all_models_rate_limited_the_same_way()
    {
        var chat = await PostAsync("/v1/chat/completions", """{"model":"mock-rl-chat","messages":[{"role":"user","content":"[mock:rate_limit] x"}]}""");
        var embed = await PostAsync("/v1/embeddings", """{"model":"mock-rl-embed","input":"[mock:rate_limit] x"}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.Status);
        Assert.Equal(chat.Status, embed.Status);
        Assert.Equal("all_models_failed", chat.Code);
        Assert.Equal(chat.Code, embed.Code);
        Assert.Equal(chat.Type, embed.Type);
    }

    private async Task<(HttpStatusCode Status, string? Type, string? Code)> PostAsync(string path, string body)
    {
        using var response = await gateway.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("error");
        return (response.StatusCode, error.GetProperty("type").GetString(), error.GetProperty("code").GetString());
    }
}
