using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Orleans.LlmRouter.Console.Tests;

/// <summary>
/// The levels below a tenant on the console (issue 25's hierarchy) in a real browser against a real gateway: the admin
/// builds a project with a small budget and a key in it from the tenant page, spends with that key until the project
/// refuses, and sees the refusal on the project's gauge and the key's calls in the call log; a child wider than its
/// parent is refused with the registry's message; a key is rotated with an overlap and revoked; an end user's budget is
/// set and removed; a tenant session sees all of it read-only. Screenshots go to <see cref="ConsoleFixture.ScreenshotDirectory"/>.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleLevelTests(ConsoleFixture fixture)
{
    private const long ProjectTokens = 400;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AdminBuildsAProjectAndKeySpendsToTheProjectsLimitAndSeesItOnGaugesAndInTheCallLog()
    {
        fixture.RequireBrowser();
        var (t, _) = await CreateTenantAsync("Levels tenant");
        var p = "app-" + Guid.NewGuid().ToString("N")[..6];
        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GotoAsync($"/ui/tenants/{t}");
        await SignInAsync(page, ConsoleFixture.AdminKey);
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Tenant {t}");

        // A project with a small lifetime token budget, from the tenant page's form.
        await page.Locator("summary", new() { HasText = "New project" }).ClickAsync();
        var projectForm = page.Locator("#form-np");
        await projectForm.GetByLabel("Project id", new() { Exact = true }).FillAsync(p);
        await projectForm.GetByLabel("Lifetime tokens", new() { Exact = true }).FillAsync(ProjectTokens.ToString(CultureInfo.InvariantCulture));
        await projectForm.GetByLabel("Allowed models", new() { Exact = true }).FillAsync("sim-small");
        await projectForm.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await Expect(page.Locator("#projects tbody")).ToContainTextAsync(p);
        var projectGauge = page.Locator($".gauges[data-level=project][data-id=\"{p}\"] .gauge[data-window=lifetime][data-unit=tokens]");
        await Expect(projectGauge).ToHaveAttributeAsync("data-limit", ProjectTokens.ToString(CultureInfo.InvariantCulture));
        await Expect(projectGauge).ToHaveAttributeAsync("data-used", "0");
        await fixture.ScreenshotAsync(page, "12-levels-project-created");
        await page.GotoAsync($"/ui/tenants/{t}"); // no click right after a full-page screenshot

        // A key wider than its project: refused by the registry, whose message names both, on a page (not a 500).
        await page.Locator("summary", new() { HasText = "Issue a key" }).ClickAsync();
        var keyForm = page.Locator("#form-nk");
        await keyForm.GetByLabel("Project", new() { Exact = true }).SelectOptionAsync(p);
        await keyForm.GetByLabel("Lifetime tokens", new() { Exact = true }).FillAsync((ProjectTokens * 10).ToString(CultureInfo.InvariantCulture));
        var refusedResponse = await page.RunAndWaitForResponseAsync(
            () => keyForm.GetByRole(AriaRole.Button, new() { Name = "Issue a new key" }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith($"/ui/tenants/{t}/keys", StringComparison.Ordinal));
        Assert.Equal(400, refusedResponse.Status);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Not saved");
        var alert = page.GetByRole(AriaRole.Alert);
        await Expect(alert).ToContainTextAsync($"project '{p}'");
        await Expect(alert).ToContainTextAsync("above");
        await Expect(alert).ToContainTextAsync(ProjectTokens.ToString(CultureInfo.InvariantCulture));
        await fixture.ScreenshotAsync(page, "13-levels-child-wider-refused");
        Assert.Equal(1, await KeyCountAsync(t)); // only the tenant's first key

        // The key in the project, with a label and an expiry: its secret is shown once.
        await page.GotoAsync($"/ui/tenants/{t}");
        await page.Locator("summary", new() { HasText = "Issue a key" }).ClickAsync();
        await keyForm.GetByLabel("Project", new() { Exact = true }).SelectOptionAsync(p);
        await keyForm.GetByLabel("Label", new() { Exact = true }).FillAsync("ci key");
        await keyForm.GetByLabel("Expires at (UTC)", new() { Exact = true }).FillAsync(DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        await keyForm.GetByRole(AriaRole.Button, new() { Name = "Issue a new key" }).ClickAsync();
        var key = (await page.Locator("#new-key").TextContentAsync())!.Trim();
        var keyId = (await page.Locator("#new-key-id").TextContentAsync())!.Trim();
        Assert.StartsWith("sk-", key, StringComparison.Ordinal);
        await fixture.ScreenshotAsync(page, "14-levels-key-issued");

        // Calls with that key until the project refuses one: a 402 naming level project.
        using var client = Client(key);
        var succeeded = 0;
        JsonElement? refusal = null;
        for (var i = 0; i < 200 && refusal is null; i++)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "sim-small", max_tokens = 60, messages = new[] { new { role = "user", content = $"Hello level {i}" } } }, Ct);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                refusal = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("error");
                break;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            succeeded++;
        }

        Assert.NotNull(refusal);
        Assert.True(succeeded >= 1, "at least one call fits the project's budget before the refusal");
        Assert.Equal("project", refusal.Value.GetProperty("level").GetString());
        Assert.Equal(p, refusal.Value.GetProperty("level_id").GetString());
        Assert.Equal("lifetime", refusal.Value.GetProperty("window").GetString());
        Assert.Equal("tokens", refusal.Value.GetProperty("unit").GetString());
        var used = refusal.Value.GetProperty("used").GetInt64();
        var requested = refusal.Value.GetProperty("requested").GetInt64();
        Assert.True(ProjectTokens - used < requested, "what is left of the project's budget does not fit the refused call");

        // The tenant page: the project's gauge stands where the refusal said; the key is listed with its project,
        // label and last use, and its secret appears nowhere.
        await page.GotoAsync($"/ui/tenants/{t}");
        await Expect(projectGauge).ToHaveAttributeAsync("data-used", used.ToString(CultureInfo.InvariantCulture));
        await Expect(projectGauge).ToHaveAttributeAsync("data-limit", ProjectTokens.ToString(CultureInfo.InvariantCulture));
        var keyRow = page.Locator("#keys tbody tr", new() { HasText = keyId });
        await Expect(keyRow).ToContainTextAsync("ci key");
        await Expect(keyRow).ToContainTextAsync(p);
        await Expect(keyRow).ToContainTextAsync("active");
        await Expect(keyRow.Locator("td").Nth(5)).Not.ToHaveTextAsync("–"); // last used
        await Expect(keyRow.Locator("td").Nth(7)).ToContainTextAsync($"{used.ToString(CultureInfo.InvariantCulture)} tokens in all"); // the key's spend: every call of the project was made with it
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        await fixture.ScreenshotAsync(page, "15-levels-tenant-at-project-limit");

        // The call log filtered by the key through its form: exactly that key's calls; the detail names the levels.
        await page.GotoAsync("/ui/calls");
        await page.GetByLabel("Tenant", new() { Exact = true }).FillAsync(t);
        await page.GetByLabel("Key id", new() { Exact = true }).FillAsync(keyId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"key={keyId}"));
        await Expect(page.Locator("#calls tbody tr")).ToHaveCountAsync(succeeded);
        await fixture.ScreenshotAsync(page, "16-levels-call-log-by-key");
        var csv = await context.APIRequest.GetAsync($"/ui/calls.csv?tenant={t}&key={keyId}");
        Assert.Equal(200, csv.Status);
        var csvLines = (await csv.TextAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal(succeeded + 1, csvLines.Length);
        Assert.EndsWith(",project_id,key_id,end_user,cache,saved_usd", csvLines[0], StringComparison.Ordinal);
        Assert.All(csvLines.Skip(1), l => Assert.Contains($",{p},{keyId},", l, StringComparison.Ordinal));
        await page.GotoAsync($"/ui/calls?tenant={t}&project={p}");
        await Expect(page.Locator("#calls tbody tr")).ToHaveCountAsync(succeeded);
        await page.GotoAsync($"/ui/calls?tenant={t}&key=not-{keyId}");
        await Expect(page.Locator("#calls tbody tr")).ToHaveTextAsync("Nothing yet.");
        var emptyCsv = await context.APIRequest.GetAsync($"/ui/calls.csv?tenant={t}&end_user=nobody");
        Assert.Single((await emptyCsv.TextAsync()).TrimEnd('\n').Split('\n')); // the header only
        await page.GotoAsync($"/ui/calls?tenant={t}&key={keyId}");
        await page.Locator("#calls tbody tr a").First.ClickAsync();
        var detail = page.Locator("dl.detail");
        await Expect(detail).ToContainTextAsync(p);
        await Expect(detail).ToContainTextAsync(keyId);
        await fixture.ScreenshotAsync(page, "17-levels-call-detail");

        // The key's page: rotate with an overlap — both secrets still open the gateway (the project's refusal, not
        // 401) — then revoke: neither does.
        await page.GotoAsync($"/ui/tenants/{t}/keys/{keyId}");
        await Expect(page.Locator(".gauges[data-level=key]")).ToContainTextAsync("no budget");
        await page.GetByLabel("Overlap (seconds)", new() { Exact = true }).FillAsync("3600");
        var rotation = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Rotate", Exact = true }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith("/rotate", StringComparison.Ordinal));
        Assert.True(rotation.Status == 200, $"rotation answered {rotation.Status}: {await rotation.TextAsync()}");
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Rotated key for {t}");
        await Expect(page.Locator("main")).ToContainTextAsync("works until");
        var rotated = (await page.Locator("#new-key").TextContentAsync())!.Trim();
        Assert.NotEqual(key, rotated);
        using var rotatedClient = Client(rotated);
        Assert.Equal(HttpStatusCode.PaymentRequired, await CallAsync(client));
        Assert.Equal(HttpStatusCode.PaymentRequired, await CallAsync(rotatedClient));
        await page.GotoAsync($"/ui/tenants/{t}/keys/{keyId}");
        await Expect(page.Locator("dl.detail")).ToContainTextAsync("the secret before rotation works until");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Revoke {keyId}" }).ClickAsync();
        await Expect(page.Locator("#keys tbody tr", new() { HasText = keyId })).ToContainTextAsync("revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(client));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(rotatedClient));
        await page.GotoAsync($"/ui/tenants/{t}/keys/{keyId}");
        await Expect(page.Locator("dl.detail")).ToContainTextAsync("revoked");
        await Expect(page.Locator("main form")).ToHaveCountAsync(0); // a revoked key cannot be edited, rotated or revoked again
        // (A full-page screenshot changes the viewport for a moment: taken where no click follows on the same page.)
        await fixture.ScreenshotAsync(page, "18-levels-key-revoked");
        await page.GotoAsync($"/ui/tenants/{t}");

        // An end user's budget: set from the tenant page, listed with its gauge, edited on its page, removed.
        await page.Locator("summary", new() { HasText = "Set an end user's budget" }).ClickAsync();
        var userForm = page.Locator("#form-ne");
        await userForm.GetByLabel("End user id", new() { Exact = true }).FillAsync("alice@example.com");
        await userForm.GetByLabel("Daily tokens", new() { Exact = true }).FillAsync("150");
        await userForm.GetByRole(AriaRole.Button, new() { Name = "Save end user" }).ClickAsync();
        var userGauge = page.Locator(".gauges[data-level=end_user][data-id=\"alice@example.com\"] .gauge[data-window=daily][data-unit=tokens]");
        await Expect(userGauge).ToHaveAttributeAsync("data-limit", "150");
        await page.Locator("#end-users tbody a", new() { HasText = "alice@example.com" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("End user alice@example.com");
        await page.GetByLabel("Daily tokens", new() { Exact = true }).FillAsync("120");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save end user" }).ClickAsync();
        await Expect(page.Locator(".gauge[data-window=daily][data-unit=tokens]")).ToHaveAttributeAsync("data-limit", "120");
        await page.GotoAsync($"/ui/tenants/{t}");
        await fixture.ScreenshotAsync(page, "19-levels-end-user");
        await AssertAccessibleAsync(page, $"/ui/tenants/{t}", $"/ui/tenants/{t}/projects/{p}", $"/ui/tenants/{t}/keys/{keyId}", $"/ui/tenants/{t}/end-users/alice%40example.com");
        await page.GotoAsync($"/ui/tenants/{t}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete alice@example.com" }).ClickAsync();
        await Expect(page.Locator("#end-users tbody tr")).ToHaveTextAsync("Nothing yet.");

        // The project's page edits it (the registry refuses narrowing it below nothing here), then deletes it.
        await page.GotoAsync($"/ui/tenants/{t}/projects/{p}");
        await page.GetByLabel("Lifetime tokens", new() { Exact = true }).FillAsync("500");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save project" }).ClickAsync();
        await Expect(page.Locator(".gauge[data-window=lifetime][data-unit=tokens]")).ToHaveAttributeAsync("data-limit", "500");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete {p}" }).ClickAsync();
        await Expect(page.Locator("#projects tbody tr")).ToHaveTextAsync("Nothing yet.");
    }

    [Fact]
    public async Task TenantSessionSeesItsLevelsReadOnly()
    {
        fixture.RequireBrowser();
        var (t, tenantKey) = await CreateTenantAsync("Read-only levels");
        var p = "ro-" + Guid.NewGuid().ToString("N")[..6];
        using (var created = await fixture.Admin.PostAsJsonAsync($"/api/v1/tenants/{t}/projects", new { settings = new { id = p, budgets = new { lifetimeTokens = 1000 } } }, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        string keyId;
        using (var issued = await fixture.Admin.PostAsJsonAsync($"/api/v1/tenants/{t}/keys", new { project = p, label = "reader's app", budgets = new { dailyTokens = 500 } }, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
            keyId = (await issued.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;
        }

        using (var user = await fixture.Admin.PutAsJsonAsync($"/api/v1/tenants/{t}/end-users/bob", new { budgets = new { dailyUsd = 0.5m } }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        }

        await using var context = await fixture.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/ui/signin");
        await SignInAsync(page, tenantKey);
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Tenant {t}");

        // Every level with its gauges, and not one form or edit link.
        await Expect(page.Locator($".gauges[data-level=project][data-id=\"{p}\"] .gauge[data-window=lifetime][data-unit=tokens]")).ToHaveAttributeAsync("data-limit", "1000");
        await Expect(page.Locator($".gauges[data-level=key][data-id=\"{keyId}\"] .gauge[data-window=daily][data-unit=tokens]")).ToHaveAttributeAsync("data-limit", "500");
        await Expect(page.Locator(".gauges[data-level=end_user][data-id=bob] .gauge[data-window=daily][data-unit=usd]")).ToHaveAttributeAsync("data-limit", "0.5");
        await Expect(page.Locator("#keys tbody")).ToContainTextAsync("reader's app");
        await Expect(page.Locator("main form")).ToHaveCountAsync(0);
        await Expect(page.Locator("main details")).ToHaveCountAsync(0);
        await Expect(page.Locator($"main a[href*=\"/projects/\"], main a[href*=\"/keys/\"], main a[href*=\"/end-users/\"]")).ToHaveCountAsync(0);
        await fixture.ScreenshotAsync(page, "20-levels-tenant-session");

        // The level pages and every level mutation are the admin's.
        foreach (var path in new[] { $"/ui/tenants/{t}/projects/{p}", $"/ui/tenants/{t}/keys/{keyId}", $"/ui/tenants/{t}/end-users/bob" })
        {
            var response = await page.GotoAsync(path);
            Assert.Equal(403, response!.Status);
        }

        foreach (var path in new[] { $"/ui/tenants/{t}/projects", $"/ui/tenants/{t}/projects/{p}/delete", $"/ui/tenants/{t}/keys/{keyId}/rotate", $"/ui/tenants/{t}/end-users/bob/delete" })
        {
            var post = await context.APIRequest.PostAsync(path, new() { MaxRedirects = 0 });
            Assert.Equal(302, post.Status);
            Assert.Contains("/ui/denied", post.Headers["location"], StringComparison.Ordinal);
        }

        var project = await fixture.Admin.GetAsync($"/api/v1/tenants/{t}/projects/{p}", Ct);
        Assert.Equal(HttpStatusCode.OK, project.StatusCode); // nothing was deleted
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.GetByLabel("Key", new() { Exact = true }).FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    private static async Task AssertAccessibleAsync(IPage page, params string[] paths)
    {
        var violations = new List<string>();
        foreach (var path in paths)
        {
            await page.GotoAsync(path);
            var result = await page.RunAxe();
            Assert.NotEmpty(result.Passes);
            violations.AddRange(result.Violations.Where(v => v.Impact is "serious" or "critical")
                .Select(v => $"{path}: {v.Id} ({v.Impact}) {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}"));
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    private HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<HttpStatusCode> CallAsync(HttpClient client)
    {
        using var response = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "sim-small", max_tokens = 60, messages = new[] { new { role = "user", content = "Still there?" } } }, Ct);
        return response.StatusCode;
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
