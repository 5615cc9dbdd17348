using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Tests;

/// <summary>Raw-HTTP helpers for the surface tests: JSON bodies, server-sent events as (event, data) pairs, managed tenants.</summary>
public static class SurfaceHttp
{
    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static HttpClient Client(Uri baseAddress, string? key, bool anthropicHeader = false)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null && anthropicHeader)
        {
            client.DefaultRequestHeaders.Add("x-api-key", key);
            client.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        }
        else if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.Clone();

    /// <summary>The events of an SSE body, in order: the <c>event:</c> name (null when absent) and the parsed data.</summary>
    public static List<(string? Event, JsonElement Data)> ParseSse(string body)
    {
        var events = new List<(string?, JsonElement)>();
        foreach (var block in body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Append(line["data:".Length..].TrimStart());
                }
            }

            if (data.Length > 0 && data.ToString() != "[DONE]")
            {
                events.Add((name, JsonDocument.Parse(data.ToString()).RootElement.Clone()));
            }
        }

        return events;
    }

    /// <summary>Creates a managed tenant through the admin API with <paramref name="budgets"/> and <paramref name="requestsPerMinute"/>; returns its id and key.</summary>
    public static async Task<(string Id, string Key)> CreateTenantAsync(Uri baseAddress, object? budgets = null, int? requestsPerMinute = null)
    {
        using var admin = Client(baseAddress, Admin.AdminEndpointsTests.AdminKey);
        var id = "surf-" + Guid.NewGuid().ToString("N")[..10];
        using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, name = "Surface test", budgets = budgets ?? new { }, requestsPerMinute } }, TestContext.Current.CancellationToken);
        created.EnsureSuccessStatusCode();
        var body = await ReadJsonAsync(created);
        return (id, body.GetProperty("key").GetProperty("key").GetString()!);
    }

    /// <summary>The tenant's usage report (admin API): totals and the budget counters.</summary>
    public static async Task<JsonElement> UsageAsync(Uri baseAddress, string tenantId)
    {
        using var admin = Client(baseAddress, Admin.AdminEndpointsTests.AdminKey);
        using var response = await admin.GetAsync($"/api/v1/tenants/{tenantId}/usage", TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }
}
