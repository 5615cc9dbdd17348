using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// Budget levels in the production shape: three silo processes and a front end on PostgreSQL; a tenant with a project,
/// two keys of it and budgeted end users, each with a small lifetime token limit; concurrent calls over every key and
/// end user; then the limits raised and a silo SIGKILLed mid-run. No level settles past its limit, every refusal names
/// a level on the call's path, and every level's counters equal the sums of its ledger rows.
/// </summary>
public sealed class BudgetLevelsProcessTests : IAsyncLifetime
{
    private const string AdminKey = "sk-llmrouter-admin-dev";
    private const string Tenant = "levels";
    private readonly PostgresDatabase _db = new();

    public ValueTask InitializeAsync() => _db.InitializeAsync();

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task Every_level_stays_within_its_limit_and_equals_its_ledger_rows_under_concurrency_and_after_a_silo_kill()
    {
        _db.RequireOrSkip();
        var cancel = TestContext.Current.CancellationToken;
        await using var cluster = new ProcessCluster(_db.ConnectionString);
        await cluster.StartManyAsync("silo", "silo1", "silo2", "silo3");
        var frontEnd = await cluster.StartAsync("frontend", "frontend");
        using var admin = frontEnd.Client(AdminKey);

        async Task Ok(HttpResponseMessage response)
        {
            using (response)
            {
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancel)}");
            }
        }

        await Ok(await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id = Tenant, budgets = new { lifetimeTokens = 200_000 } }, issueKey = false }, cancel));
        await Ok(await admin.PostAsJsonAsync($"/api/v1/tenants/{Tenant}/projects", new { settings = new { id = "app", budgets = new { lifetimeTokens = 12_000 } } }, cancel));
        var keys = new Dictionary<string, string>(); // key id → secret
        foreach (var lifetime in new[] { 4_000, 6_000 })
        {
            using var created = await admin.PostAsJsonAsync($"/api/v1/tenants/{Tenant}/keys", new { project = "app", budgets = new { lifetimeTokens = lifetime } }, cancel);
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancel)).RootElement;
            keys[body.GetProperty("id").GetString()!] = body.GetProperty("key").GetString()!;
        }

        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/end-users/u1", new { budgets = new { lifetimeTokens = 2_500 } }, cancel));
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/end-users/u2", new { budgets = new { lifetimeTokens = 3_500 } }, cancel));
        var keyIds = keys.Keys.ToArray();
        var users = new[] { "u1", "u2", "u3" }; // u3: no budget of its own
        var levelsOnPath = new HashSet<(string, string)> { ("project", "app"), ("key", keyIds[0]), ("key", keyIds[1]), ("end_user", "u1"), ("end_user", "u2") };
        var clients = keyIds.SelectMany(k => users.Select(u =>
        {
            var client = frontEnd.Client(keys[k]);
            client.DefaultRequestHeaders.Add("X-LlmRouter-End-User", u);
            return client;
        })).ToArray();
        var refusals = new ConcurrentBag<(string Level, string Id)>();

        async Task<bool> CallAsync(HttpClient client, string text, CancellationToken token)
        {
            using var response = await client.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"action:chat_small","max_tokens":60,"messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"), token);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(token)).RootElement.GetProperty("error");
                refusals.Add((error.GetProperty("level").GetString()!, error.GetProperty("level_id").GetString()!));
            }

            return response.StatusCode == HttpStatusCode.OK;
        }

        // 1. Two hundred concurrent calls spread over the keys and end users.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => CallAsync(clients[i % clients.Length], $"burst {i}", cancel)));
        Assert.NotEmpty(refusals);
        Assert.All(refusals, r => Assert.Contains(r, levelsOnPath));
        await AssertWithinLimitsAndReconciledAsync(admin, new() { [("project", "app")] = 12_000, [("key", keyIds[0])] = 4_000, [("key", keyIds[1])] = 6_000, [("end_user", "u1")] = 2_500, [("end_user", "u2")] = 3_500 }, requireIdle: true, cancel);

        // 2. Room again at every level, steady traffic, one silo SIGKILLed mid-run.
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/projects/app", new { settings = new { id = "app", budgets = new { lifetimeTokens = 40_000 } } }, cancel));
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/keys/{keyIds[0]}", new { project = "app", budgets = new { lifetimeTokens = 14_000 } }, cancel));
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/keys/{keyIds[1]}", new { project = "app", budgets = new { lifetimeTokens = 18_000 } }, cancel));
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/end-users/u1", new { budgets = new { lifetimeTokens = 8_000 } }, cancel));
        await Ok(await admin.PutAsJsonAsync($"/api/v1/tenants/{Tenant}/end-users/u2", new { budgets = new { lifetimeTokens = 9_000 } }, cancel));
        refusals.Clear();
        var served = 0;
        var killed = false;
        var afterKill = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var workers = clients.Select((client, w) => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    if (await CallAsync(client, $"steady {w}/{i}", stop.Token))
                    {
                        Interlocked.Increment(ref served);
                        if (Volatile.Read(ref killed))
                        {
                            Interlocked.Increment(ref afterKill);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Failover: calls in flight on the killed silo fail and are not delivered.
                }
            }
        }, CancellationToken.None)).ToList();

        await ClusterHttp.WaitUntil(() => Volatile.Read(ref served) >= 40, TimeSpan.FromSeconds(60), "traffic before the kill");
        ProcessCluster.Kill(cluster.Silos[1]);
        Volatile.Write(ref killed, true);
        await ClusterHttp.WaitUntil(() => Volatile.Read(ref afterKill) >= 40 || refusals.Count >= 60, TimeSpan.FromSeconds(90), "traffic served after the kill");
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Assert.All(refusals, r => Assert.Contains(r, levelsOnPath));

        // Calls that were on the killed silo settle late (their router retries the settle); their reservations may still be leased.
        var limits = new Dictionary<(string, string), long> { [("project", "app")] = 40_000, [("key", keyIds[0])] = 14_000, [("key", keyIds[1])] = 18_000, [("end_user", "u1")] = 8_000, [("end_user", "u2")] = 9_000 };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await AssertWithinLimitsAndReconciledAsync(admin, limits, requireIdle: false, cancel);
                break;
            }
            catch (Xunit.Sdk.XunitException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, cancel);
            }
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    private async Task AssertWithinLimitsAndReconciledAsync(HttpClient admin, Dictionary<(string Level, string Id), long> limits, bool requireIdle, CancellationToken cancel)
    {
        var report = await Reconcile.AssertReconciledAsync(admin, Tenant, requireIdle);
        foreach (var ((level, id), limit) in limits)
        {
            var line = report.Levels.Single(l => l.Level == level && l.Id == id);
            var lifetime = line.Windows.Single(w => w.Window == "lifetime");
            Assert.True(lifetime.CounterTokens <= limit, $"{level} '{id}' settled {lifetime.CounterTokens} tokens over its {limit} limit");
            var column = level switch { "project" => "project_id", "key" => "key_id", _ => "end_user" };
            var ledger = await _db.ScalarAsync<long>($"SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint FROM llm_calls WHERE tenant_id = $1 AND {column} = $2", Tenant, id);
            Assert.Equal(ledger, lifetime.CounterTokens);
        }

        _ = cancel;
    }
}
