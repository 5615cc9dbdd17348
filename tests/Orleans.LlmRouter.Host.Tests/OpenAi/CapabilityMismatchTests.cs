using System.Net;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>An explicit model that cannot do what the request needs is the caller's error: 400 naming the capability.</summary>
[Collection(GatewayCollection.Name)]
public sealed class CapabilityMismatchTests(GatewayFixture gateway)
{
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"sim-embed","messages":[{"role":"user","content":"hi"}]}""", "chat")]
    [InlineData("/v1/chat/completions", """{"model":"mock-rl","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}""", "structured_output")]
    [InlineData("/v1/chat/completions", """{"model":"mock-gpt","messages":[{"role":"user","content":[{"type":"text","text":"what is it"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""", "vision")]
    [InlineData("/v1/chat/completions", """{"model":"mock-rl","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", "tools")]
    [InlineData("/v1/chat/completions", """{"model":"sim-embed","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "chat")]
    [InlineData("/v1/embeddings", """{"model":"sim-small","input":"x"}""", "embedding")]
    public async Task An_explicit_model_lacking_a_capability_is_400_naming_it(string path, string body, string capability)
    {
        using var response = await gateway.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains($"lacks capability {capability}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
