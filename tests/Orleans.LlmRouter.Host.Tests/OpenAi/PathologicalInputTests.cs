using System.Diagnostics;
using System.Net;
using System.Text;

namespace Orleans.LlmRouter.Host.Tests.OpenAi;

/// <summary>
/// Hostile input must not stall a silo: while a 3 MB prompt of one repeated character (the input that makes a naive
/// token counter quadratic) and the other limit cases are answered, ordinary calls on the same silo still complete.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class PathologicalInputTests(GatewayFixture gateway)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A 17 MiB body, declared: the client waits for 100-continue, so it reads the 413 instead of a broken pipe.</summary>
    private Task<HttpResponseMessage> OversizeAsync(CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json($$"""{"model":"auto","messages":[{"role":"user","content":"{{new string('c', 17 * 1024 * 1024)}}"}]}"""),
        };
        request.Headers.ExpectContinue = true;
        return gateway.Client.SendAsync(request, ct);
    }

    [Fact]
    public async Task Ordinary_calls_complete_within_2_s_while_a_3_MB_single_character_prompt_is_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        using (var warm = await gateway.Client.PostAsync("/v1/chat/completions", Json("""{"model":"sim-small","messages":[{"role":"user","content":"warm up"}]}"""), ct))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode); // the first call of a fresh gateway compiles its path
        }

        var huge = gateway.Client.PostAsync("/v1/chat/completions", Json($$"""{"model":"auto","max_tokens":16,"messages":[{"role":"user","content":"{{new string('a', 3_000_000)}}"}]}"""), ct);
        var others = new[]
        {
            gateway.Client.PostAsync("/v1/chat/completions", Json($$"""{"model":"sim-small","messages":[{"role":"user","content":"{{new string('b', 4_000_001)}}"}]}"""), ct),
            gateway.Client.PostAsync("/v1/chat/completions", Json($$"""{"model":"auto","messages":[{{string.Join(',', Enumerable.Repeat("""{"role":"user","content":"hi"}""", 2049))}}]}"""), ct),
            OversizeAsync(ct),
        };

        var ordinary = 0;
        do
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await gateway.Client.PostAsync("/v1/chat/completions", Json("""{"model":"sim-small","messages":[{"role":"user","content":"an ordinary call"}]}"""), ct);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(elapsed < TimeSpan.FromSeconds(2), $"an ordinary call took {elapsed} during the pathological ones");
            ordinary++;
        }
        while (!huge.IsCompleted && ordinary < 50);

        using var answer = await huge;
        var status = (int)answer.StatusCode;
        Assert.True(status is 200 or 413, $"the 3 MB request got {status}: {await answer.Content.ReadAsStringAsync(ct)}");
        foreach (var other in others)
        {
            using var response = await other;
            Assert.InRange((int)response.StatusCode, 400, 499); // each refused by a limit, never a 5xx
        }
    }
}
