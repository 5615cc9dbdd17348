using Microsoft.Extensions.Logging.Abstractions;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// The ledger's browsing queries (the console's call log and overview) answer the same on PostgreSQL as in memory:
/// keyset pages across tenants with filters, range aggregates with percentiles, per-bucket series, error classes, top
/// tenants and models, and a tenant's spend per day and model.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LedgerBrowseTests(PostgresDatabase db)
{
    [Fact]
    public async Task Pages_and_aggregates_on_PostgreSQL_equal_the_in_memory_ledger()
    {
        db.RequireOrSkip();
        var ct = TestContext.Current.CancellationToken;
        // A range no other test writes to: a random hour of 2019.
        var start = new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(Random.Shared.Next(0, 8000));
        var tag = "browse-" + Guid.NewGuid().ToString("N")[..8];
        var tenants = new[] { tag + "-a", tag + "-b", tag + "-c" };
        var models = new[] { "m-small", "m-large" };
        var rows = Enumerable.Range(0, 137).Select(i => new LedgerRecord
        {
            RequestId = $"{tag}-{i:D4}",
            TenantId = tenants[i % 3],
            TenantSeq = i + 1,
            Provider = i % 2 == 0 ? "p1" : "p2",
            Model = models[i % 5 == 0 ? 1 : 0],
            Tags = i % 4 == 0 ? [tag] : [],
            PromptTokens = 10 + i,
            CompletionTokens = 5 + (i % 7),
            CostUsd = 0.0001m * (1 + (i % 11)),
            LatencyMs = 3.5 * ((i * 37) % 101),
            TimeToFirstTokenMs = i % 3 == 0 ? null : 1.25 * (i % 13),
            Success = i % 9 != 0,
            ErrorClass = i % 9 != 0 ? null : i % 2 == 0 ? "RateLimited" : "ServerError",
            Attempts = 1 + (i % 2),
            StartedAt = start.AddSeconds(i * 50),
            // Several rows share a completion time, so the cursor's tie-break on the request id matters.
            CompletedAt = start.AddSeconds((i / 3) * 150),
        }).ToList();

        var memory = new InMemoryLedger();
        await using var postgres = new PostgresLedger(new PostgresLedgerOptions(db.ConnectionString)
        {
            SpoolDirectory = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName,
            ReplayInterval = TimeSpan.FromHours(1),
        }, NullLogger<PostgresLedger>.Instance);
        foreach (var r in rows)
        {
            await memory.AppendAsync(r, ct);
            await postgres.AppendAsync(r, ct);
        }

        var range = new CallLogQuery { From = start, To = start.AddDays(1) };
        Assert.Equal(rows.Count, (await AllPagesAsync(postgres, range with { Limit = 20 })).Distinct().Count());
        foreach (var query in new[]
        {
            range with { Limit = 20 },
            range with { Limit = 7, TenantId = tenants[1] },
            range with { Limit = 5, Success = false },
            range with { Limit = 9, Tag = tag, Model = "m-small" },
            range with { Limit = 11, Provider = "p2", Before = new CallCursor(start.AddSeconds(30 * 150), $"{tag}-0091") },
        })
        {
            Assert.Equal(await AllPagesAsync(memory, query), await AllPagesAsync(postgres, query));
        }

        var one = await postgres.PageAsync(new CallLogQuery { RequestId = rows[42].RequestId }, ct);
        Assert.Equal(rows[42].RequestId, Assert.Single(one).RequestId);

        foreach (var stats in new[]
        {
            new LedgerStatsQuery(start, start.AddHours(2), TimeSpan.FromMinutes(1)),
            new LedgerStatsQuery(start, start.AddHours(2), TimeSpan.FromMinutes(30)) { TenantId = tenants[2], Top = 1 },
            new LedgerStatsQuery(start.AddMinutes(10), start.AddMinutes(40), TimeSpan.FromDays(1)),
        })
        {
            var m = await memory.StatsAsync(stats, ct);
            var p = await postgres.StatsAsync(stats, ct);
            Assert.Equal((m.Calls, m.FailedCalls, m.CostUsd), (p.Calls, p.FailedCalls, p.CostUsd));
            Assert.True(m.Calls > 0);
            Assert.Equal(m.LatencyP50Ms!.Value, p.LatencyP50Ms!.Value, 6);
            Assert.Equal(m.LatencyP95Ms!.Value, p.LatencyP95Ms!.Value, 6);
            Assert.Equal(m.TtftP50Ms!.Value, p.TtftP50Ms!.Value, 6);
            Assert.Equal(m.TtftP95Ms!.Value, p.TtftP95Ms!.Value, 6);
            Assert.Equal(m.Buckets, p.Buckets);
            Assert.Equal(m.ErrorsByClass, p.ErrorsByClass);
            Assert.Equal(m.TopTenants, p.TopTenants);
            Assert.Equal(m.TopModels, p.TopModels);
        }

        Assert.Equal(
            await memory.SpendByDayAndModelAsync(tenants[0], start.AddDays(-1), start.AddDays(1), ct),
            await postgres.SpendByDayAndModelAsync(tenants[0], start.AddDays(-1), start.AddDays(1), ct));
    }

    [Fact]
    public async Task Level_filters_page_the_same_rows_on_PostgreSQL_as_in_memory()
    {
        db.RequireOrSkip();
        var ct = TestContext.Current.CancellationToken;
        var start = new DateTimeOffset(2018, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(Random.Shared.Next(0, 8000));
        var tag = "levels-" + Guid.NewGuid().ToString("N")[..8];
        var tenant = tag + "-t";
        string?[] projects = ["p1", "p2", null];
        string?[] keys = ["k1", "k2", "k3", null];
        string?[] users = ["alice", "bob", null, null, null];
        var rows = Enumerable.Range(0, 120).Select(i => new LedgerRecord
        {
            RequestId = $"{tag}-{i:D4}",
            // A second tenant with the same level ids: a filter below a tenant stays inside the tenant asked for.
            TenantId = i % 10 == 0 ? tag + "-other" : tenant,
            TenantSeq = i + 1,
            Provider = "p",
            Model = "m",
            ProjectId = projects[i % 3],
            KeyId = keys[i % 4],
            EndUser = users[i % 5],
            PromptTokens = 10,
            CompletionTokens = 5,
            CostUsd = 0.0001m,
            LatencyMs = 1,
            Success = i % 7 != 0,
            Attempts = 1,
            StartedAt = start.AddSeconds(i * 10),
            CompletedAt = start.AddSeconds((i / 2) * 20),
        }).ToList();

        var memory = new InMemoryLedger();
        await using var postgres = new PostgresLedger(new PostgresLedgerOptions(db.ConnectionString)
        {
            SpoolDirectory = Directory.CreateTempSubdirectory("llmrouter-spool-").FullName,
            ReplayInterval = TimeSpan.FromHours(1),
        }, NullLogger<PostgresLedger>.Instance);
        foreach (var r in rows)
        {
            await memory.AppendAsync(r, ct);
            await postgres.AppendAsync(r, ct);
        }

        var range = new CallLogQuery { TenantId = tenant, From = start, To = start.AddDays(1), Limit = 6 };
        foreach (var (query, expected) in new (CallLogQuery, Func<LedgerRecord, bool>)[]
        {
            (range with { ProjectId = "p1" }, r => r.ProjectId == "p1"),
            (range with { KeyId = "k2" }, r => r.KeyId == "k2"),
            (range with { EndUser = "alice" }, r => r.EndUser == "alice"),
            (range with { ProjectId = "p2", KeyId = "k3", Success = true }, r => r.ProjectId == "p2" && r.KeyId == "k3" && r.Success),
            (range with { ProjectId = "p1", EndUser = "bob", Before = new CallCursor(start.AddSeconds(40 * 20), $"{tag}-0081") }, r => r.ProjectId == "p1" && r.EndUser == "bob"
                && (r.CompletedAt < start.AddSeconds(40 * 20) || (r.CompletedAt == start.AddSeconds(40 * 20) && string.CompareOrdinal(r.RequestId, $"{tag}-0081") < 0))),
        })
        {
            var want = rows.Where(r => r.TenantId == tenant && expected(r))
                .OrderByDescending(r => r.CompletedAt).ThenByDescending(r => r.RequestId, StringComparer.Ordinal).Select(r => r.RequestId).ToList();
            Assert.NotEmpty(want);
            Assert.Equal(want, await AllPagesAsync(memory, query));
            Assert.Equal(want, await AllPagesAsync(postgres, query));
        }

        // A level id no row carries: nothing (not every row, as an ignored filter would give).
        Assert.Empty(await postgres.PageAsync(range with { KeyId = "k-none" }, ct));
        Assert.Empty(await memory.PageAsync(range with { EndUser = "nobody" }, ct));
    }

    /// <summary>Every page of a query, following the cursor, as request ids (and no page larger than asked).</summary>
    private static async Task<List<string>> AllPagesAsync(ILedger ledger, CallLogQuery query)
    {
        var ids = new List<string>();
        for (var q = query; ;)
        {
            var page = await ledger.PageAsync(q, TestContext.Current.CancellationToken);
            Assert.True(page.Count <= q.ClampedLimit);
            ids.AddRange(page.Select(r => r.RequestId));
            if (page.Count < q.ClampedLimit)
            {
                return ids;
            }

            q = q with { Before = CallCursor.Of(page[^1]) };
        }
    }
}
