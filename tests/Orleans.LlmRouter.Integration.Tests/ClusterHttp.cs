using System.Net;
using System.Text.Json;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>HTTP helpers of the multi-process cluster tests.</summary>
internal static class ClusterHttp
{
    /// <summary>A tenant's usage through the admin API, waiting out 503s while a cluster settles after a kill.</summary>
    public static async Task<JsonElement> Usage(HttpClient admin, string tenant)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var response = await admin.GetAsync(new Uri($"/api/v1/tenants/{tenant}/usage", UriKind.Relative));
            if (response.IsSuccessStatusCode || attempt == 20 || response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                response.EnsureSuccessStatusCode();
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            }

            await Task.Delay(500);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(100);
        }
    }

    /// <summary>The request id of a stream that ran to <c>[DONE]</c> without an error event; null otherwise.</summary>
    public static string? StreamDelivered(string sse)
    {
        var data = sse.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..].Trim()).ToList();
        if (data.Count < 2 || data[^1] != "[DONE]" || data.Any(d => d.Contains("\"error\"", StringComparison.Ordinal)))
        {
            return null;
        }

        return JsonDocument.Parse(data[0]).RootElement.GetProperty("id").GetString()!["chatcmpl-".Length..];
    }
}
