using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// The admin console through a separate front end on a durable multi-silo cluster (two silo processes and a
/// front-end process on PostgreSQL): sign-in with its antiforgery token, the call log from the PostgreSQL ledger,
/// cluster-wide provider state, and the Orleans dashboard hosted on the front end's Orleans client with its data from
/// the silos. (The browser tests of every page run against the embedded gateway, tests/Orleans.LlmRouter.Console.Tests.)
/// </summary>
public sealed partial class ConsoleFrontEndTests : IAsyncLifetime
{
    private const string AdminKey = "sk-llmrouter-admin-dev";
    private readonly PostgresDatabase _db = new();

    public ValueTask InitializeAsync() => _db.InitializeAsync();

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task The_console_on_a_front_end_shows_the_durable_clusters_calls_providers_and_dashboard()
    {
        _db.RequireOrSkip();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = new ProcessCluster(_db.ConnectionString);
        await cluster.StartManyAsync("silo", "silo1", "silo2");
        var frontEnd = await cluster.StartAsync("frontend", "frontend");
        using var admin = frontEnd.Client(AdminKey);

        var id = "fe-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, budgets = new { dailyUsd = 5 } } }, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("key").GetProperty("key").GetString()!;
        using (var tenant = frontEnd.Client(key))
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await tenant.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"sim-small","max_tokens":20,"messages":[{"role":"user","content":"console {{i}}"}]}""", Encoding.UTF8, "application/json"), ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = frontEnd.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        // Signed out: redirected to the sign-in page.
        using (var signedOut = await browser.GetAsync("/ui/calls", ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
            Assert.Contains("/ui/signin", signedOut.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        var form = await browser.GetStringAsync("/ui/signin", ct);
        var token = CsrfToken().Match(form).Groups[1].Value;
        using (var signIn = await browser.PostAsync("/ui/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["__csrf"] = WebUtility.HtmlDecode(token), ["key"] = AdminKey }), ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        }

        // The call log reads the cluster's PostgreSQL ledger: the three calls, with the tenant filter.
        var calls = await browser.GetStringAsync($"/ui/calls?tenant={id}", ct);
        Assert.Equal(3, CallLink().Count(calls));

        // Providers: the provider grains' cluster-wide state.
        var providers = await browser.GetStringAsync("/ui/providers/data", ct);
        var simulated = JsonDocument.Parse(providers).RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "simulated");
        Assert.Equal("closed", simulated.GetProperty("state").GetString());
        Assert.Equal("yes", simulated.GetProperty("enabled").GetString());

        // The Orleans dashboard on the front end (an Orleans client) answers with the silos' data.
        var page = await browser.GetStringAsync("/ui/cluster/", ct);
        Assert.Contains("Orleans Dashboard", page, StringComparison.Ordinal);
        using var counters = JsonDocument.Parse(await browser.GetStringAsync("/ui/cluster/DashboardCounters", ct));
        var hosts = counters.RootElement.EnumerateObject().First(p => p.Name.Equals("totalActiveHostCount", StringComparison.OrdinalIgnoreCase)).Value.GetInt32();
        Assert.Equal(2, hosts);
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfToken();

    [GeneratedRegex("href=\"/ui/calls/[^\"]+\"")]
    private static partial Regex CallLink();
}
