using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Orleans.LlmRouter.Console.Tests;

/// <summary>
/// The admin console in a real browser against a real gateway on loopback: the scenario of issue 28's "Done when",
/// and the boundaries of a session (tenant confinement, no CSRF token, a cookie that is not the console's).
/// Each page's screenshot is written to <see cref="ConsoleFixture.ScreenshotDirectory"/>.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleBrowserTests(ConsoleFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AdminCreatesTenantIssuesKeySpendsToRefusalAndSeesItEverywhere()
    {
        fixture.RequireBrowser();
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        page.Dialog += (_, dialog) => dialog.AcceptAsync(); // confirmations of destructive forms

        // Signed out: the console answers with the sign-in page, never data.
        await page.GotoAsync("/ui/tenants");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
        await fixture.ScreenshotAsync(page, "01-signin");
        await SignInAsync(page, ConsoleFixture.AdminKey);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Tenants"); // back where the sign-in page was asked for

        // Create a tenant with a small daily budget.
        var id = "ui-" + Guid.NewGuid().ToString("N")[..10];
        await page.GotoAsync("/ui/tenants");
        await page.GetByLabel("Tenant id", new() { Exact = true }).FillAsync(id);
        await page.GetByLabel("Display name", new() { Exact = true }).FillAsync("Console test tenant");
        await page.GetByLabel("Daily USD", new() { Exact = true }).FillAsync("0.0001");
        await page.GetByLabel("Allowed models", new() { Exact = true }).FillAsync("sim-small");
        await fixture.ScreenshotAsync(page, "02-tenants");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create tenant" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Tenant {id}");

        // Issue a key: shown once.
        await page.Locator("summary", new() { HasText = "Issue a key" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Issue a new key" }).ClickAsync();
        var key = (await page.Locator("#new-key").TextContentAsync())!.Trim();
        Assert.StartsWith("sk-", key, StringComparison.Ordinal);
        await page.GotoAsync($"/ui/tenants/{id}");
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);

        // Calls through /v1/chat/completions until one is refused with 402.
        using var tenantClient = new HttpClient { BaseAddress = fixture.BaseAddress };
        tenantClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var succeeded = 0;
        // One call whose every attempt fails upstream (free): its detail lists each attempt with its error class.
        using var failing = await tenantClient.PostAsJsonAsync("/v1/chat/completions",
            new { model = "sim-small", max_tokens = 60, messages = new[] { new { role = "user", content = "[simulate:server] fails every time" } } }, Ct);
        Assert.False(failing.IsSuccessStatusCode);
        var failedId = failing.Headers.GetValues("X-Request-Id").Single();

        var spent = 0m;
        JsonElement? refusal = null;
        for (var i = 0; i < 200 && refusal is null; i++)
        {
            using var response = await tenantClient.PostAsJsonAsync("/v1/chat/completions",
                new { model = "sim-small", max_tokens = 60, messages = new[] { new { role = "user", content = $"Hello number {i}" } } }, Ct);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                refusal = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("error");
                break;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            succeeded++;
            spent += decimal.Parse(response.Headers.GetValues("X-LlmRouter-Cost-Usd").Single(), CultureInfo.InvariantCulture);
        }

        Assert.NotNull(refusal);
        Assert.True(succeeded >= 1, "at least one call fits the budget before the refusal");
        var used = refusal.Value.GetProperty("used").GetDecimal();
        Assert.Equal(spent, used);

        // The call log shows them.
        await page.GotoAsync($"/ui/calls?tenant={id}");
        await Expect(page.Locator("#calls tbody tr")).ToHaveCountAsync(succeeded + 1);
        await Expect(page.Locator("#calls tbody")).ToContainTextAsync("sim-small");
        await fixture.ScreenshotAsync(page, "03-call-log");
        await page.Locator("#calls tbody tr a").First.ClickAsync();
        await Expect(page.Locator("dl.detail")).ToContainTextAsync("reported by the provider");
        await fixture.ScreenshotAsync(page, "04-call-detail");
        await page.GotoAsync($"/ui/calls/{failedId}");
        var attempts = page.Locator("#attempts tbody tr");
        await Expect(attempts).Not.ToHaveCountAsync(0);
        foreach (var attemptRow in await attempts.AllAsync())
        {
            await Expect(attemptRow).ToContainTextAsync("sim-small");
            await Expect(attemptRow).ToContainTextAsync("server");
        }

        await fixture.ScreenshotAsync(page, "04b-call-detail-attempts");

        // The CSV export of the filtered view: a header and one line per call.
        var csv = await context.APIRequest.GetAsync($"/ui/calls.csv?tenant={id}");
        Assert.Equal(200, csv.Status);
        Assert.Equal(succeeded + 2, (await csv.TextAsync()).TrimEnd('\n').Split('\n').Length); // the header, the failed call, the rest

        // The tenant's chart has the spend, and its daily USD gauge stands where the refusal said: at the limit.
        await page.GotoAsync($"/ui/tenants/{id}");
        var chartTotal = decimal.Parse((await page.Locator("#tenant-spend").GetAttributeAsync("data-total"))!, CultureInfo.InvariantCulture);
        Assert.Equal(spent, chartTotal);
        await Expect(page.Locator("#tenant-spend rect.bar")).Not.ToHaveCountAsync(0);
        var gauge = page.Locator(".gauge[data-window=daily][data-unit=usd]");
        Assert.Equal(used, decimal.Parse((await gauge.GetAttributeAsync("data-used"))!, CultureInfo.InvariantCulture));
        Assert.Equal(0.0001m, decimal.Parse((await gauge.GetAttributeAsync("data-limit"))!, CultureInfo.InvariantCulture));
        var requested = refusal.Value.GetProperty("requested").GetDecimal();
        Assert.True(0.0001m - used < requested, "what is left of the budget does not fit the refused call");
        await fixture.ScreenshotAsync(page, "05-tenant");

        // The overview counts them.
        await page.GotoAsync("/ui?range=hour");
        await Expect(page.Locator("#top-tenants")).ToContainTextAsync(id);
        await fixture.ScreenshotAsync(page, "06-overview");

        // Disable a provider from the page and see its state change; enable it through the API and see the page
        // update itself (live refresh, no reload).
        await page.GotoAsync("/ui/providers");
        var row = page.Locator("tr[data-provider=simulated]");
        await Expect(row.Locator("td[data-k=enabled]")).ToHaveTextAsync("yes");
        await row.GetByRole(AriaRole.Button, new() { Name = "Disable simulated" }).ClickAsync();
        try
        {
            await Expect(page.Locator("tr[data-provider=simulated] td[data-k=enabled]")).ToContainTextAsync("no");
            await Expect(page.Locator("tr[data-provider=simulated] td[data-k=enabled]")).ToContainTextAsync("disabled at run time");
            await fixture.ScreenshotAsync(page, "07-providers-disabled");
        }
        finally
        {
            using var enabled = await fixture.Admin.PostAsync("/api/v1/providers/simulated/enable", null, Ct);
            Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        }

        await Expect(page.Locator("tr[data-provider=simulated] td[data-k=enabled]")).ToHaveTextAsync("yes", new() { Timeout = 20_000 });
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Disable simulated" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Enable simulated" })).ToBeHiddenAsync();
        await fixture.ScreenshotAsync(page, "08-providers");

        // The playground's dry run as the tenant.
        await page.GotoAsync("/ui/playground");
        await page.GetByLabel("Tenant", new() { Exact = true }).SelectOptionAsync(id);
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("sim-small");
        await page.GetByRole(AriaRole.Button, new() { Name = "Dry run" }).ClickAsync();
        await Expect(page.Locator("#chosen")).ToHaveTextAsync("sim-small");
        await Expect(page.Locator("#answer")).ToHaveCountAsync(0); // a dry run calls no one

        // Sent for real as a tenant with budget left: the answer, its model and its actual cost, billed on the ledger.
        await page.GetByLabel("Tenant", new() { Exact = true }).SelectOptionAsync("dev");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send as the tenant" }).ClickAsync();
        await Expect(page.Locator("#answer")).Not.ToBeEmptyAsync();
        await Expect(page.Locator("#actual-cost")).ToContainTextAsync("$");
        await fixture.ScreenshotAsync(page, "09-playground");

        // The Orleans dashboard, mounted under the console.
        var cluster = await page.GotoAsync("/ui/cluster/");
        Assert.Equal(200, cluster!.Status);
        await Expect(page).ToHaveTitleAsync("Orleans Dashboard");
        await Expect(page.Locator("body")).ToContainTextAsync("Silos", new() { Timeout = 20_000 });
        await fixture.ScreenshotAsync(page, "10-cluster");

        // A mutation without the CSRF token is refused, and nothing changes.
        var keysBefore = await KeyCountAsync(id);
        var forged = await context.APIRequest.PostAsync($"/ui/tenants/{id}/keys", new() { Form = context.APIRequest.CreateFormData() });
        Assert.Equal(400, forged.Status);
        Assert.Contains("anti-forgery", await forged.TextAsync(), StringComparison.Ordinal);
        Assert.Equal(keysBefore, await KeyCountAsync(id));
    }

    [Fact]
    public async Task TenantSessionIsReadOnlyAndConfinedToItsTenant()
    {
        fixture.RequireBrowser();
        var (a, keyA) = await CreateTenantAsync("Tenant A");
        var (b, _) = await CreateTenantAsync("Secret name of B");
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/signin");
        await SignInAsync(page, keyA);

        // Its own page, read-only: no forms that change anything.
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"/ui/tenants/{a}$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Tenant {a}");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Issue a new key" })).ToHaveCountAsync(0);
        await Expect(page.Locator("form.settings")).ToHaveCountAsync(0);
        await fixture.ScreenshotAsync(page, "11-tenant-session");

        // Another tenant's page: 403, and none of its data.
        var other = await page.GotoAsync($"/ui/tenants/{b}");
        Assert.Equal(403, other!.Status);
        Assert.DoesNotContain("Secret name of B", await page.ContentAsync(), StringComparison.Ordinal);

        // Admin pages: refused; the call log stays on its own tenant whatever the filter asks.
        var providers = await page.GotoAsync("/ui/providers");
        Assert.Equal(403, providers!.Status);
        await page.GotoAsync($"/ui/calls?tenant={b}");
        await Expect(page.GetByLabel("Tenant", new() { Exact = true })).ToHaveCountAsync(0);

        // A mutation by a tenant's session: refused (not the admin's session).
        var post = await context.APIRequest.PostAsync($"/ui/tenants/{b}/keys", new() { MaxRedirects = 0 });
        Assert.Equal(302, post.Status);
        Assert.Contains("/ui/denied", post.Headers["location"], StringComparison.Ordinal);

        // Sign out: the sign-in page again.
        await page.GotoAsync($"/ui/tenants/{a}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
        await page.GotoAsync($"/ui/tenants/{a}");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
    }

    [Fact]
    public async Task ForgedCookieAndRevokedKeyGetTheSignInPage()
    {
        fixture.RequireBrowser();
        var (a, keyA) = await CreateTenantAsync("Revoked later");
        await using var context = await fixture.NewContextAsync();
        await context.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = "llmrouter_console", Value = "CfDJ8forged-not-a-ticket", Domain = fixture.BaseAddress.Host, Path = "/ui" }]);
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/ui/tenants/{a}");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
        Assert.DoesNotContain("Revoked later", await page.ContentAsync(), StringComparison.Ordinal);

        // A wrong key is refused on the sign-in page.
        await SignInAsync(page, "sk-not-a-key");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("neither the admin key nor a tenant's");

        // A tenant session ends when its key is revoked.
        await SignInAsync(page, keyA);
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Tenant {a}");
        var keyId = (await fixture.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{a}", Ct)).GetProperty("keys")[0].GetProperty("keyId").GetString();
        using (var revoked = await fixture.Admin.DeleteAsync($"/api/v1/tenants/{a}/keys/{keyId}", Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        await page.GotoAsync($"/ui/tenants/{a}");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
        Assert.DoesNotContain("Revoked later", await page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExpiredSessionGetsTheSignInPage()
    {
        fixture.RequireBrowser();
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/providers");
        await SignInAsync(page, ConsoleFixture.AdminKey);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Providers");

        // Just before the session's lifetime (8 h by default) it still works; past it, the same cookie gets the
        // sign-in page and no data.
        fixture.SessionClock.Advance(TimeSpan.FromHours(8) - TimeSpan.FromMinutes(1));
        await page.GotoAsync("/ui/providers");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Providers");
        fixture.SessionClock.Advance(TimeSpan.FromMinutes(2));
        await page.GotoAsync("/ui/providers");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/signin"));
        Assert.DoesNotContain("data-provider", await page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryPageHasNoSeriousAccessibilityViolationAndStartsWithASkipLink()
    {
        fixture.RequireBrowser();
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        var violations = new List<string>();
        async Task CheckAsync(string path)
        {
            await page.GotoAsync(path);
            var result = await page.RunAxe();
            Assert.NotEmpty(result.Passes); // axe ran on the page
            foreach (var v in result.Violations)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{path}: {v.Id} ({v.Impact}) {v.Help}");
            }

            violations.AddRange(result.Violations.Where(v => v.Impact is "serious" or "critical")
                .Select(v => $"{path}: {v.Id} ({v.Impact}) {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}"));
        }

        await CheckAsync("/ui/signin");
        await SignInAsync(page, ConsoleFixture.AdminKey);
        foreach (var path in new[] { "/ui", "/ui?range=30d", "/ui/tenants", "/ui/tenants/dev", "/ui/providers", "/ui/calls", "/ui/playground" })
        {
            await CheckAsync(path);
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));

        // Keyboard: the first Tab lands on the skip link, which leads to the main content.
        await page.GotoAsync("/ui/tenants");
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator(":focus")).ToHaveTextAsync("Skip to content");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#main$"));
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.GetByLabel("Key", new() { Exact = true }).FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    private async Task<(string Id, string Key)> CreateTenantAsync(string name)
    {
        var id = "ui-" + Guid.NewGuid().ToString("N")[..10];
        using var created = await fixture.Admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, name } }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>(Ct);
        return (id, body.GetProperty("key").GetProperty("key").GetString()!);
    }

    private async Task<int> KeyCountAsync(string id) =>
        (await fixture.Admin.GetFromJsonAsync<JsonElement>($"/api/v1/tenants/{id}", Ct)).GetProperty("keys").GetArrayLength();
}
