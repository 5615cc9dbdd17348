using System.Net;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>
/// The shipped request limits (<c>LlmRouter:Limits</c> defaults), enforced before routing on a real gateway over
/// loopback: 413 <c>request_too_large</c> for the body, 400 <c>invalid_request_error</c> naming the field for the rest.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class RequestLimitsTests(GatewayFixture gateway)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Messages(int count, string content = "hi") =>
        string.Join(',', Enumerable.Range(0, count).Select(_ => $"{{\"role\":\"user\",\"content\":\"{content}\"}}"));

    private async Task<(HttpStatusCode Status, JsonElement Error)> PostAsync(string path, string body)
    {
        using var response = await gateway.Client.PostAsync(path, Json(body), TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, doc.RootElement.TryGetProperty("error", out var e) ? e.Clone() : default);
    }

    private static void AssertInvalid((HttpStatusCode Status, JsonElement Error) result, string param, string mention)
    {
        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("invalid_request_error", result.Error.GetProperty("type").GetString());
        Assert.Equal(param, result.Error.GetProperty("param").GetString());
        Assert.Contains(mention, result.Error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_16_MiB_is_413_request_too_large_whether_declared_or_chunked(bool declared)
    {
        var prefix = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        var payload = Encoding.UTF8.GetBytes(prefix + new string('a', (16 * 1024 * 1024) + 10) + "\"}]}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions");
        if (declared)
        {
            request.Content = new ByteArrayContent(payload);
            request.Headers.ExpectContinue = true;
        }
        else
        {
            request.Content = new StreamContent(new NonSeekable(payload)); // no Content-Length: chunked, refused while read
        }

        request.Content.Headers.ContentType = new("application/json");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("request_too_large", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Over_2048_messages_is_400_on_messages_and_2048_are_answered()
    {
        AssertInvalid(await PostAsync("/v1/chat/completions", $"{{\"model\":\"sim-small\",\"messages\":[{Messages(2049)}]}}"), "messages", "at most 2048");
        var (status, _) = await PostAsync("/v1/chat/completions", $"{{\"model\":\"sim-small\",\"max_tokens\":16,\"messages\":[{Messages(2048)}]}}");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task A_message_over_4_million_characters_is_400_naming_it()
    {
        var body = $"{{\"model\":\"sim-small\",\"messages\":[{Messages(1)},{{\"role\":\"user\",\"content\":\"{new string('b', 4_000_001)}\"}}]}}";
        AssertInvalid(await PostAsync("/v1/chat/completions", body), "messages[1].content", "4000001 characters");
    }

    [Fact]
    public async Task Over_128_tools_is_400_on_tools()
    {
        var tools = string.Join(',', Enumerable.Range(0, 129).Select(i => $"{{\"type\":\"function\",\"function\":{{\"name\":\"f{i}\"}}}}"));
        AssertInvalid(await PostAsync("/v1/chat/completions", $"{{\"model\":\"sim-small\",\"messages\":[{Messages(1)}],\"tools\":[{tools}]}}"), "tools", "at most 128");
    }

    [Fact]
    public async Task Over_100_images_is_400_on_messages()
    {
        var images = string.Join(',', Enumerable.Range(0, 101).Select(i => $"{{\"type\":\"image_url\",\"image_url\":{{\"url\":\"https://example.com/{i}.png\"}}}}"));
        AssertInvalid(await PostAsync("/v1/chat/completions", $"{{\"model\":\"sim-large\",\"messages\":[{{\"role\":\"user\",\"content\":[{images}]}}]}}"), "messages", "101 images");
    }

    [Fact]
    public async Task Embeddings_are_limited_in_count_and_size()
    {
        var many = string.Join(',', Enumerable.Range(0, 2049).Select(i => $"\"t{i}\""));
        AssertInvalid(await PostAsync("/v1/embeddings", $"{{\"model\":\"sim-embed\",\"input\":[{many}]}}"), "input", "at most 2048");
        AssertInvalid(await PostAsync("/v1/embeddings", $"{{\"model\":\"sim-embed\",\"input\":[\"ok\",\"{new string('c', 4_000_001)}\"]}}"), "input[1]", "4000001 characters");
    }

    /// <summary>A stream without a length, so the client sends the body chunked.</summary>
    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
