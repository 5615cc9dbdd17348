using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

[Collection(GatewayCollection.Name)]
public sealed class ChatCompletionsTests(GatewayFixture gateway)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Readme_curl_example_returns_a_completion_with_usage()
    {
        using var response = await gateway.Client.PostAsync(
            "/v1/chat/completions",
            Json("""{"model":"action:chat_small","messages":[{"role":"user","content":"Say hello to the router"}]}"""),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var root = doc.RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.Equal("sim-small", root.GetProperty("model").GetString());
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Contains("Say hello to the router", choice.GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt64() > 0);
        Assert.True(usage.GetProperty("completion_tokens").GetInt64() > 0);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() + usage.GetProperty("completion_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal("simulated", response.Headers.GetValues("X-LlmRouter-Provider").Single());
        Assert.Equal("sim-small", response.Headers.GetValues("X-LlmRouter-Model").Single());
        Assert.True(decimal.Parse(response.Headers.GetValues("X-LlmRouter-Cost-Usd").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("1", response.Headers.GetValues("X-LlmRouter-Attempts").Single());
        Assert.True(response.Headers.Contains("X-LlmRouter-Overhead-Ms"));
    }

    [Fact]
    public async Task Explicit_model_and_strategy_header_route_as_asked()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json("""{"model":"auto","messages":[{"role":"user","content":"strategy please"}]}"""),
        };
        request.Headers.Add("X-LlmRouter-Action", "chat_smart");
        request.Headers.Add("X-LlmRouter-Strategy", "quality");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // quality has no live model without keys, so the default chain (second level) answers with sim-large.
        Assert.Equal("sim-large", response.Headers.GetValues("X-LlmRouter-Model").Single());
    }

    [Fact]
    public async Task Fallback_after_a_failing_model_is_reported_in_headers()
    {
        using var response = await gateway.Client.PostAsync(
            "/v1/chat/completions",
            Json("""{"model":"action:course_structuring","messages":[{"role":"user","content":"outline [simulate:bad_request@sim-small]"}],"response_format":{"type":"json_object"}}"""),
            TestContext.Current.CancellationToken);

        // sim-small is the only live model of course_structuring, so everything failed: 502 listing the attempt.
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("all_models_failed", error.GetProperty("type").GetString());
        Assert.Contains("sim-small@simulated: bad_request", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_sends_chunks_a_usage_chunk_and_done()
    {
        using var response = await gateway.Client.PostAsync(
            "/v1/chat/completions",
            Json("""{"model":"sim-small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream me a reply"}]}"""),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out _))
            .Select(d => d.GetProperty("content").GetString()));
        Assert.Contains("stream me a reply", text, StringComparison.Ordinal);
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.True(usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt64() > 0);
        Assert.Contains(chunks, c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop");
    }

    [Fact]
    public async Task Models_lists_live_catalog_models()
    {
        using var response = await gateway.Client.GetAsync("/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var ids = doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("sim-small", ids);
        Assert.DoesNotContain("gpt-4o", ids); // its provider has no key here
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("Basic c2stbGxtcm91dGVyLWRldg==")]
    public async Task Missing_or_wrong_key_is_401_in_openai_shape(string? authorization)
    {
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(authorization);
        }

        using var response = await client.PostAsync("/v1/chat/completions", Json("""{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal("invalid_api_key", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("wrong-key", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[", null)]
    [InlineData("[]", null)]
    [InlineData("{\"model\":\"sim-small\"}", "messages")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[]}", "messages")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":\"hi\"}", "messages")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "messages[0].role")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":42}]}", "messages[0].content")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", "temperature")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":7}", "temperature")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-5}", "max_tokens")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,@@@notbase64\"}}]}]}", "messages[0].content[0].image_url.url")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].tool_call_id")]
    [InlineData("{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"yaml\"}}", "response_format.type")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model")]
    public async Task Malformed_requests_are_400_with_the_field_named(string body, string? param)
    {
        using var response = await gateway.Client.PostAsync("/v1/chat/completions", Json(body), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        using var health = await gateway.Client.GetAsync("/healthz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Unknown_model_is_404()
    {
        using var response = await gateway.Client.PostAsync("/v1/chat/completions", Json("""{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}"""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("model_not_found", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unknown_fields_are_ignored_and_huge_bodies_are_413()
    {
        using var ok = await gateway.Client.PostAsync("/v1/chat/completions", Json("""{"model":"sim-small","messages":[{"role":"user","content":"hi","future_field":1}],"brand_new_option":{"x":true},"logit_bias":{}}"""), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var huge = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 17 * 1024 * 1024) + "\"}]}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(huge) };
        request.Headers.ExpectContinue = true;
        using var tooBig = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        using var doc = JsonDocument.Parse(await tooBig.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("invalid_request_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("request_too_large", doc.RootElement.GetProperty("error").GetProperty("code").GetString());

        using var health = await gateway.Client.GetAsync("/healthz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
