using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// What an upgrade and a scale-in on Kubernetes do, on processes: three silos and two front ends on PostgreSQL, steady
/// traffic (plain calls and streams) from several tenants, one with a contended budget; every process is stopped with
/// SIGTERM and replaced, one after the other (silos, then front ends, as a rolling update does), then the silos are
/// scaled in from three to two. No accepted call may fail other than with a retryable 503, no connection may be
/// refused or reset, and no spend may be lost: the ledger holds exactly the delivered calls, and the counters equal it.
/// </summary>
public sealed class RollingRestartTests : IAsyncLifetime
{
    private const string AdminKey = "sk-llmrouter-admin-dev";
    private const long ContendedBudget = 8000;
    private readonly PostgresDatabase _db = new();

    public ValueTask InitializeAsync() => _db.InitializeAsync();

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task A_rolling_restart_of_every_process_and_a_scale_in_lose_no_call_and_no_spend()
    {
        _db.RequireOrSkip();
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "needs SIGTERM");
        var cancel = TestContext.Current.CancellationToken;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var timings = new List<string>();
        void Mark(string what) => timings.Add($"{clock.Elapsed.TotalSeconds:0.0}s {what}");
        await using var cluster = new ProcessCluster(_db.ConnectionString);

        // Front ends keep serving for a moment after SIGTERM (readiness off), as the chart has them: a request a
        // client sent just before the front end left the rotation is still served.
        var frontEndSettings = new Dictionary<string, string> { ["LlmRouter__DrainDelaySeconds"] = "2" };
        var silos = (await cluster.StartManyAsync("silo", "silo1", "silo2", "silo3")).ToList();
        var frontEnds = new List<ProcessCluster.Node>
        {
            await cluster.StartAsync("frontend", "frontend1", frontEndSettings),
            await cluster.StartAsync("frontend", "frontend2", frontEndSettings),
        };
        Mark("started");
        var rotation = frontEnds.ToArray(); // what a Service would send to: replaced whole, read by the workers
        using var admin = frontEnds[0].Client(AdminKey);

        var keys = new Dictionary<string, string>();
        foreach (var (id, lifetime) in new[] { ("ra", (long?)null), ("rb", null), ("rc", ContendedBudget) })
        {
            using var created = await admin.PostAsJsonAsync("/api/v1/tenants", new { settings = new { id, budgets = new { lifetimeTokens = lifetime } } }, cancel);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            keys[id] = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancel)).RootElement.GetProperty("key").GetProperty("key").GetString()!;
        }

        var delivered = new ConcurrentBag<(string Tenant, string RequestId)>();
        var failures = new ConcurrentQueue<string>();
        var retryable = 0;
        var refusedByBudget = 0;
        var outcomes = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // request id -> what the client got
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var workers = keys.SelectMany(kv => new[] { false, true }.Select(stream => Task.Run(async () =>
        {
            var clients = new Dictionary<ProcessCluster.Node, HttpClient>();
            try
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var targets = Volatile.Read(ref rotation);
                    var node = targets[i % targets.Length];
                    if (!clients.TryGetValue(node, out var client))
                    {
                        clients[node] = client = node.Client(kv.Value);
                    }

                    var body = $$"""{"model":"action:chat_small","max_tokens":50,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"rolling {{i}}"}]}""";
                    try
                    {
                        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), CancellationToken.None);
                        var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                        if (response.Headers.TryGetValues("X-Request-Id", out var ids))
                        {
                            outcomes[ids.First()] = $"{node.Name} stream={stream} {(int)response.StatusCode} {text[..Math.Min(text.Length, 200)]}";
                        }

                        switch (response.StatusCode)
                        {
                            case HttpStatusCode.OK when !stream:
                                delivered.Add((kv.Key, JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!["chatcmpl-".Length..]));
                                break;
                            case HttpStatusCode.OK when ClusterHttp.StreamDelivered(text) is { } id:
                                delivered.Add((kv.Key, id));
                                break;
                            case HttpStatusCode.PaymentRequired when kv.Key == "rc":
                                Interlocked.Increment(ref refusedByBudget);
                                break;
                            case HttpStatusCode.ServiceUnavailable when response.Headers.RetryAfter is not null:
                                Interlocked.Increment(ref retryable);
                                break;
                            default:
                                failures.Enqueue($"{node.Name} {kv.Key} stream={stream}: {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
                                break;
                        }
                    }
                    catch (HttpRequestException ex)
                    {
                        failures.Enqueue($"{node.Name} {kv.Key} stream={stream}: connection failed: {ex.Message}");
                    }
                }
            }
            finally
            {
                foreach (var client in clients.Values)
                {
                    client.Dispose();
                }
            }
        }, CancellationToken.None))).ToList();

        async Task TrafficFlows(string what)
        {
            var before = delivered.Count;
            await ClusterHttp.WaitUntil(() => delivered.Count >= before + 30 || !failures.IsEmpty, TimeSpan.FromSeconds(60), "traffic " + what);
            Assert.True(failures.IsEmpty, $"{what}: {string.Join("\n", failures.Take(10))}\nlogs in {cluster.LogDirectory}; steps: {string.Join(", ", timings)}");
        }

        var exits = new List<(string Name, int Code)>();
        try
        {
            await TrafficFlows("before the restarts");

            // The StatefulSet's rolling update: each silo is stopped, then its replacement starts. (The new front ends
            // start meanwhile, to keep the test short; they take no traffic until they replace the old ones.)
            Task<ProcessCluster.Node[]>? newFrontEnds = null;
            for (var i = 0; i < 3; i++)
            {
                exits.Add((silos[i].Name, await ProcessCluster.TerminateAsync(silos[i], TimeSpan.FromSeconds(60))));
                Mark($"silo {i + 1} stopped");
                if (i == 2)
                {
                    newFrontEnds = Task.WhenAll(
                        cluster.StartAsync("frontend", "frontend1-new", frontEndSettings),
                        cluster.StartAsync("frontend", "frontend2-new", frontEndSettings));
                }

                silos[i] = await cluster.StartAsync("silo", $"silo{i + 1}-new");
                Mark($"silo {i + 1} replaced");
                await TrafficFlows($"after silo {i + 1} was replaced");
            }

            // The Deployment's rolling update: a new front end joins the rotation (maxSurge 1), then the old one leaves
            // it and is stopped, one after the other.
            var replacements = await newFrontEnds!;
            Mark("new front ends started");
            for (var i = 0; i < 2; i++)
            {
                var old = frontEnds[i];
                frontEnds[i] = replacements[i];
                Volatile.Write(ref rotation, frontEnds.ToArray());
                exits.Add((old.Name, await ProcessCluster.TerminateAsync(old, TimeSpan.FromSeconds(60))));
                Mark($"front end {i + 1} stopped");
                await TrafficFlows($"after front end {i + 1} was replaced");
            }

            // Scale-in from three silos to two.
            exits.Add((silos[2].Name, await ProcessCluster.TerminateAsync(silos[2], TimeSpan.FromSeconds(60))));
            Mark("scaled in");
            await TrafficFlows("after the scale-in");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} failed calls: {string.Join("\n", failures.Take(10))}\nlogs in {cluster.LogDirectory}");
        Assert.All(exits, e => Assert.True(e.Code == 0, $"{e.Name} exited with {e.Code} (3: its stop overran the bound)"));
        Mark($"traffic stopped: delivered {delivered.Count}, retryable 503 {retryable}, budget 402 {refusedByBudget}");
        TestContext.Current.SendDiagnosticMessage(string.Join(", ", timings));

        // No spend lost and none invented: the ledger holds exactly the delivered calls, the counters equal the ledger,
        // no reservation is left, and the contended budget held.
        using var audit = frontEnds[0].Client(AdminKey);
        foreach (var tenant in keys.Keys)
        {
            var ids = delivered.Where(d => d.Tenant == tenant).Select(d => d.RequestId).ToArray();
            Assert.Equal(ids.Length, await _db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1 AND request_id = ANY($2) AND success", tenant, ids));
            var billed = await _db.ScalarAsync<long>("SELECT count(*) FROM llm_calls WHERE tenant_id = $1 AND success", tenant);
            if (billed != ids.Length)
            {
                var rows = (await _db.ScalarAsync<string>("SELECT coalesce(string_agg(request_id, ','), '') FROM llm_calls WHERE tenant_id = $1 AND success AND NOT (request_id = ANY($2))", tenant, ids)).Split(',');
                Assert.Fail($"tenant {tenant}: {billed} successful ledger rows, {ids.Length} delivered calls; rows of calls not delivered, with what their client got:\n"
                    + string.Join("\n", rows.Select(r => $"{r}: {outcomes.GetValueOrDefault(r, "no answer recorded")}")) + $"\nlogs in {cluster.LogDirectory}; steps: {string.Join(", ", timings)}");
            }

            await Reconcile.AssertReconciledAsync(audit, tenant, context: $"(logs in {cluster.LogDirectory}; steps: {string.Join(", ", timings)})");
        }

        var contended = (await ClusterHttp.Usage(audit, "rc")).GetProperty("counters").GetProperty("windows").EnumerateArray()
            .Single(w => w.GetProperty("window").GetString() == "lifetime").GetProperty("tokens").GetInt64();
        Assert.True(contended <= ContendedBudget, $"the contended budget was overshot: {contended} > {ContendedBudget}");
    }
}
