using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Host.Hosting;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>The reconcile audit and the ledger quarantine through the admin API of a durable gateway.</summary>
[Collection(DurableGatewayCollection.Name)]
public sealed class ReconcileTests(DurableGatewayFixture fx)
{
    private static async Task<string> ChatAsync(HttpClient client, string text, string? run = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "m", max_tokens = 50, messages = new[] { new { role = "user", content = text } } }),
        };
        if (run is not null)
        {
            request.Headers.Add("X-LlmRouter-Run", run);
        }

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        return body;
    }

    [Fact]
    public async Task After_calls_the_counters_equal_the_ledger_in_every_window_and_a_corrupted_row_shows_as_a_difference()
    {
        fx.Database.RequireOrSkip();
        using var tenant = fx.Client(DurableGatewayFixture.KeyA);
        using var admin = fx.Client(fx.AdminKey);
        for (var i = 0; i < 6; i++)
        {
            await ChatAsync(tenant, $"reconcile me {i}", run: i < 3 ? "run-a" : null);
        }

        var clean = await Reconcile.AssertReconciledAsync(tenant, "ta"); // the tenant's own key may audit itself
        Assert.Equal(["lifetime", "daily", "weekly", "monthly", "run"], clean.Windows.Select(w => w.Window));
        var lifetime = clean.Windows[0];
        Assert.Equal(6, lifetime.LedgerRows);
        Assert.True(lifetime.LedgerTokens > 0 && lifetime.LedgerUsd > 0);
        Assert.Equal((0L, 0m), (lifetime.TokenDifference!.Value, lifetime.UsdDifference!.Value));
        Assert.Equal(3, clean.Windows.Single(w => w.Key == "run-a").LedgerRows);

        // An operator edits the ledger behind the counters' back: one row of run-a gets 7 more tokens and 0.5 USD.
        var victim = await fx.Database.ScalarAsync<string>("SELECT request_id FROM llm_calls WHERE tenant_id = 'ta' AND run_id = 'run-a' ORDER BY tenant_seq LIMIT 1");
        await fx.Database.ScalarAsync<int>("WITH u AS (UPDATE llm_calls SET prompt_tokens = prompt_tokens + 7, cost_usd = cost_usd + 0.5 WHERE request_id = $1 RETURNING 1) SELECT count(*)::int FROM u", victim);

        var dirty = await Reconcile.ReportAsync(admin, "ta");
        Assert.False(dirty.Consistent);
        foreach (var window in new[] { "lifetime", "daily", "weekly", "monthly" })
        {
            var w = dirty.Windows.Single(x => x.Window == window);
            Assert.False(w.Consistent);
            Assert.Equal(-7L, w.TokenDifference); // counter − ledger
            Assert.Equal(-0.5m, w.UsdDifference);
        }

        Assert.Equal(-7L, dirty.Windows.Single(w => w.Key == "run-a").TokenDifference);

        // The host's --audit mode sees it too, and exits non-zero.
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(LedgerAudit.Differences, await LedgerAudit.RunAsync(["--audit", "--url", fx.BaseAddress.ToString(), "--tenant", "ta"], output, error, fx.AdminKey, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("ta: DIFFERENCE lifetime: ledger", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("difference -7 tokens / -0.5", output.ToString(), StringComparison.Ordinal);

        await fx.Database.ScalarAsync<int>("WITH u AS (UPDATE llm_calls SET prompt_tokens = prompt_tokens - 7, cost_usd = cost_usd - 0.5 WHERE request_id = $1 RETURNING 1) SELECT count(*)::int FROM u", victim);
        await Reconcile.AssertReconciledAsync(admin, "ta");
    }

    [Fact]
    public async Task The_audit_mode_passes_for_every_tenant_when_nothing_differs_and_fails_without_a_key()
    {
        fx.Database.RequireOrSkip();
        using var tenant = fx.Client(DurableGatewayFixture.KeyB);
        await ChatAsync(tenant, "audit me");
        var output = new StringWriter();
        Assert.Equal(LedgerAudit.Consistent, await LedgerAudit.RunAsync(["--audit", "--url", fx.BaseAddress.ToString(), "--tenant", "tb", "--require-idle"], output, new StringWriter(), fx.AdminKey, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("tb: consistent", output.ToString(), StringComparison.Ordinal);

        var error = new StringWriter();
        Assert.Equal(LedgerAudit.Failed, await LedgerAudit.RunAsync(["--audit", "--url", fx.BaseAddress.ToString()], new StringWriter(), error, adminKey: null, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("LLMROUTER_ADMIN_KEY", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(LedgerAudit.Failed, await LedgerAudit.RunAsync(["--audit", "--url", fx.BaseAddress.ToString(), "--tenant", "tb"], new StringWriter(), new StringWriter(), "wrong-key", cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Reconcile_needs_the_admin_key_or_the_tenants_own_key_and_answers_problem_details()
    {
        fx.Database.RequireOrSkip();
        using var anonymous = fx.Client(null);
        using var other = fx.Client(DurableGatewayFixture.KeyB);
        using var admin = fx.Client(fx.AdminKey);
        using var none = await anonymous.GetAsync("/api/v1/tenants/ta/reconcile", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        using var forbidden = await other.GetAsync("/api/v1/tenants/ta/reconcile", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var missing = await admin.GetAsync("/api/v1/tenants/nobody/reconcile", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_quarantine_endpoint_lists_a_row_postgresql_refused_with_its_error_and_the_count()
    {
        fx.Database.RequireOrSkip();
        var ledger = fx.Services.GetRequiredService<ILedger>();
        var bad = new LedgerRecord
        {
            RequestId = "q-" + Guid.NewGuid().ToString("N"),
            TenantId = "tq", // not a configured tenant: the other tests' audits stay untouched
            TenantSeq = 1_000_000,
            Provider = "sim",
            Model = "m\u0000",
            PromptTokens = 3,
            Success = true,
            StartedAt = DateTimeOffset.UnixEpoch,
            CompletedAt = DateTimeOffset.UnixEpoch,
        };
        Assert.True(await ledger.AppendAsync(bad, TestContext.Current.CancellationToken));

        using var anonymous = fx.Client(null);
        using var refused = await anonymous.GetAsync("/api/v1/ledger/quarantine", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var tenantKey = fx.Client(DurableGatewayFixture.KeyB);
        using var notAdmin = await tenantKey.GetAsync("/api/v1/ledger/quarantine", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, notAdmin.StatusCode);

        using var admin = fx.Client(fx.AdminKey);
        using var badLimit = await admin.GetAsync("/api/v1/ledger/quarantine?limit=0", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Equal("application/problem+json", badLimit.Content.Headers.ContentType?.MediaType);

        using var doc = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/ledger/quarantine", TestContext.Current.CancellationToken));
        Assert.True(doc.RootElement.GetProperty("count").GetInt64() >= 1);
        var row = doc.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("requestId").GetString() == bad.RequestId);
        Assert.Equal("22021", row.GetProperty("sqlState").GetString());
        Assert.Equal("postgres", row.GetProperty("location").GetString());
        Assert.Equal("m\u0000", row.GetProperty("record").GetProperty("model").GetString());

        // The audit counts the quarantined row on the ledger side.
        var balance = await ledger.BalanceAsync("tq", [new BalanceWindow("lifetime", null, null, null)], TestContext.Current.CancellationToken);
        Assert.Equal((1L, 3L, 1L), (balance.Windows[0].Rows, balance.Windows[0].Tokens, balance.QuarantinedRows));
    }
}
