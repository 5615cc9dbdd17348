using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// The production shape for real: three silo processes and a front-end process on PostgreSQL, steady traffic from
/// several tenants, one silo SIGKILLed mid-run, then a full stop and restart.
/// </summary>
public sealed class ProcessClusterTests : IAsyncLifetime
{
    private const string AdminKey = "sk-llmrouter-admin-dev";
    private readonly PostgresDatabase _db = new();

    public ValueTask InitializeAsync() => _db.InitializeAsync();

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    // B2 after a crash: every delivered call is in the ledger, and each tenant's counters (rebuilt by a new activation
    // from its persisted state plus the ledger rows after the persisted position) equal the ledger sums exactly.
    [Fact]
    public async Task A_killed_silo_loses_nothing_and_a_restarted_cluster_has_the_same_usage()
    {
        _db.RequireOrSkip();
        var cancel = TestContext.Current.CancellationToken;
        await using var cluster = new ProcessCluster(_db.ConnectionString);
        await cluster.StartManyAsync("silo", "silo1", "silo2", "silo3");

        var frontEnd = await cluster.StartAsync("frontend", "frontend");
        using var admin = frontEnd.Client(AdminKey);

        // Tenants created through the admin API (stored in PostgreSQL); one has a small budget.
        var keys = new Dictionary<string, string>();
        foreach (var (id, lifetime) in new[] { ("pa", (long?)null), ("pb", null), ("pc", 4000L) })
        {
            using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, budgets = new { lifetimeTokens = lifetime } } }, cancel);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            keys[id] = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancel)).RootElement.GetProperty("key").GetProperty("key").GetString()!;
        }

        var delivered = new ConcurrentBag<(string Tenant, string RequestId)>();
        var afterKill = 0;
        var killed = false;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var workers = keys.SelectMany(kv => Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            using var client = frontEnd.Client(kv.Value);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"action:chat_small","max_tokens":50,"messages":[{"role":"user","content":"steady traffic {{w}}/{{i}}"}]}""", Encoding.UTF8, "application/json"), stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop.Token)).RootElement.GetProperty("id").GetString()!;
                        delivered.Add((kv.Key, id["chatcmpl-".Length..]));
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
        }, CancellationToken.None))).ToList();

        await ClusterHttp.WaitUntil(() => delivered.Count >= 90, TimeSpan.FromSeconds(60), "traffic before the kill");
        ProcessCluster.Kill(cluster.Silos[1]);
        Volatile.Write(ref killed, true);
        await ClusterHttp.WaitUntil(() => Volatile.Read(ref afterKill) >= 60, TimeSpan.FromSeconds(90), "traffic served after the kill");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // The survivors declare the killed silo dead in the membership table (status 6), leaving two active (status 3).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = $1 AND status = 3", cluster.ClusterId) != 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the killed silo was not declared dead within 60 s");
            await Task.Delay(200, cancel);
        }

        // Every delivered response is in the ledger, and every tenant's counters equal its ledger sums.
        var before = new Dictionary<string, JsonElement>();
        foreach (var tenant in keys.Keys)
        {
            var ids = delivered.Where(d => d.Tenant == tenant).Select(d => d.RequestId).ToArray();
            Assert.Equal(ids.Length, await _db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1 AND request_id = ANY($2) AND success", tenant, ids));
            // Calls that were on the killed silo settle late: their router retries the settle (to the 30 s grain retry
            // deadline) until the tenant's budget grain is active again. Counters and ledger agree once those are in.
            JsonElement usage;
            long tokens;
            var settled = DateTime.UtcNow.AddSeconds(45);
            while (true)
            {
                usage = await ClusterHttp.Usage(admin, tenant);
                tokens = await _db.ScalarAsync<long>("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint FROM llm_calls WHERE tenant_id = $1", tenant);
                if (tokens == Lifetime(usage).GetProperty("tokens").GetInt64() || DateTime.UtcNow > settled)
                {
                    break;
                }

                await Task.Delay(250, cancel);
            }

            var counted = Lifetime(usage).GetProperty("tokens").GetInt64();
            Assert.True(tokens == counted, $"tenant {tenant}: the counters hold {counted} tokens, the ledger {tokens} in {await _db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1", tenant)} rows (max tenant_seq {await _db.ScalarAsync<long>("SELECT coalesce(max(tenant_seq), 0) FROM llm_calls WHERE tenant_id = $1", tenant)}, positions shared by two rows: {await _db.ScalarAsync<long>("SELECT count(*) FROM (SELECT tenant_seq FROM llm_calls WHERE tenant_id = $1 GROUP BY tenant_seq HAVING count(*) > 1) d", tenant)}); process logs in {cluster.LogDirectory}");
            before[tenant] = Lifetime(usage);

            // The rollups (issue 33) equal the rows after the kill: the killed silo's last group commits, spooled and
            // replayed settles and retried settles are each rolled up exactly once.
            const string RowSums = "SELECT count(*) || '/' || coalesce(sum(prompt_tokens), 0) || '/' || coalesce(sum(completion_tokens), 0) || '/' || coalesce(sum(cost_usd), 0)::numeric(30, 10) FROM llm_calls WHERE tenant_id = $1";
            const string RollupSums = "SELECT coalesce(sum(calls), 0) || '/' || coalesce(sum(prompt_tokens), 0) || '/' || coalesce(sum(completion_tokens), 0) || '/' || coalesce(sum(cost_usd), 0)::numeric(30, 10) FROM llm_usage_daily WHERE tenant_id = $1";
            Assert.Equal(await _db.ScalarAsync<string>(RowSums, tenant), await _db.ScalarAsync<string>(RollupSums, tenant));

            // Every window audited (reservations of calls that ran on the killed silo may still be leased).
            await Reconcile.AssertReconciledAsync(admin, tenant, requireIdle: false);
        }

        Assert.True(before["pc"].GetProperty("tokens").GetInt64() <= 4000, "the small budget was not overshot");

        // Provider state agrees across the surviving silos.
        var views = new List<string>();
        foreach (var silo in cluster.Silos.Where(s => !s.Process.HasExited))
        {
            using var client = silo.Client();
            var providers = JsonDocument.Parse(await client.GetStringAsync(new Uri("/healthz/providers", UriKind.Relative), cancel)).RootElement;
            var simulated = providers.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "simulated").GetProperty("snapshot");
            views.Add(simulated.ValueKind == JsonValueKind.Null ? "none" : simulated.GetProperty("state").GetRawText() + simulated.GetProperty("disabled").GetRawText());
        }

        Assert.Equal(2, views.Count);
        Assert.Single(views.Distinct());

        // Stop the whole cluster gracefully, start it again: budgets and usage are exactly as before.
        await cluster.StopAllAsync();
        await cluster.StartManyAsync("silo", "silo1-restarted", "silo2-restarted", "silo3-restarted");

        var restarted = await cluster.StartAsync("frontend", "frontend-restarted");
        using var admin2 = restarted.Client(AdminKey);
        foreach (var tenant in keys.Keys)
        {
            var after = Lifetime(await ClusterHttp.Usage(admin2, tenant));
            Assert.Equal(before[tenant].GetProperty("tokens").GetInt64(), after.GetProperty("tokens").GetInt64());
            Assert.Equal(before[tenant].GetProperty("costUsd").GetDecimal(), after.GetProperty("costUsd").GetDecimal());
            await Reconcile.AssertReconciledAsync(admin2, tenant);
        }

        using var again = restarted.Client(keys["pa"]);
        using var served = await again.PostAsync("/v1/chat/completions", new StringContent("""{"model":"action:chat_small","messages":[{"role":"user","content":"after restart"}]}""", Encoding.UTF8, "application/json"), cancel);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode); // the tenant and its key survived the restart
    }

    private static JsonElement Lifetime(JsonElement usage) =>
        usage.GetProperty("counters").GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("window").GetString() == "lifetime");

    /// <summary>Reads usage; right after a failover the front end may answer 503 for a moment, so it retries briefly.</summary>
}
