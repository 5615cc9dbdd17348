using System.Text;
using Npgsql;

namespace Orleans.LlmRouter.Ledger;

/// <summary>
/// The ledger's browsing queries (call log pages, overview aggregates): every one bounded by a time range or a page
/// size, and served by the indexes on <c>completed_at</c> (deploy/sql/013-ledger-browse.sql) or on the tenant.
/// </summary>
internal sealed partial class PostgresLedger
{
    public async Task<IReadOnlyList<LedgerRecord>> PageAsync(CallLogQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var cmd = _source.CreateCommand();
        var where = new StringBuilder("true");
        Filter(cmd, where, "tenant_id", query.TenantId);
        Filter(cmd, where, "request_id", query.RequestId);
        Filter(cmd, where, "model", query.Model);
        Filter(cmd, where, "provider", query.Provider);
        Filter(cmd, where, "action", query.Action);
        Filter(cmd, where, "run_id", query.RunId);
        Filter(cmd, where, "project_id", query.ProjectId);
        Filter(cmd, where, "key_id", query.KeyId);
        Filter(cmd, where, "end_user", query.EndUser);
        if (query.Tag is { } tag)
        {
            where.Append(" AND tags @> ARRAY[@tag]::text[]");
            cmd.Parameters.AddWithValue("tag", tag);
        }

        if (query.Success is { } success)
        {
            where.Append(" AND success = @success");
            cmd.Parameters.AddWithValue("success", success);
        }

        Range(cmd, where, query.From, query.To);
        if (query.Before is { } before)
        {
            where.Append(" AND (completed_at, request_id) < (@before_at, @before_id)");
            cmd.Parameters.AddWithValue("before_at", before.CompletedAt.UtcDateTime);
            cmd.Parameters.AddWithValue("before_id", before.RequestId);
        }

        cmd.CommandText = $"SELECT {Columns} FROM llm_calls WHERE {where} ORDER BY completed_at DESC, request_id DESC LIMIT {query.ClampedLimit}";
        var rows = new List<LedgerRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }

    public async Task<LedgerStats> StatsAsync(LedgerStatsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        var where = new StringBuilder("completed_at >= @from AND completed_at < @to");
        void Parameters(NpgsqlCommand cmd)
        {
            cmd.Parameters.AddWithValue("from", query.From.UtcDateTime);
            cmd.Parameters.AddWithValue("to", query.To.UtcDateTime);
            if (query.TenantId is not null)
            {
                cmd.Parameters.AddWithValue("tenant", query.TenantId);
            }
        }

        if (query.TenantId is not null)
        {
            where.Append(" AND tenant_id = @tenant");
        }

        long calls = 0, failed = 0;
        decimal cost = 0;
        double? p50 = null, p95 = null, t50 = null, t95 = null;
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = $"""
                SELECT count(*), count(*) FILTER (WHERE NOT success), coalesce(sum(cost_usd), 0),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms)
                FROM llm_calls WHERE {where}
                """;
            Parameters(cmd);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                calls = reader.GetInt64(0);
                failed = reader.GetInt64(1);
                cost = reader.GetDecimal(2);
                p50 = reader.IsDBNull(3) ? null : reader.GetDouble(3);
                p95 = reader.IsDBNull(4) ? null : reader.GetDouble(4);
                t50 = reader.IsDBNull(5) ? null : reader.GetDouble(5);
                t95 = reader.IsDBNull(6) ? null : reader.GetDouble(6);
            }
        }

        var buckets = new List<StatsBucket>();
        await using (var cmd = connection.CreateCommand())
        {
            var seconds = Math.Max(1L, (long)query.Bucket.TotalSeconds);
            cmd.CommandText = $"""
                SELECT to_timestamp(floor(extract(epoch FROM completed_at) / {seconds}) * {seconds}) AS bucket,
                       count(*), count(*) FILTER (WHERE NOT success), coalesce(sum(cost_usd), 0)
                FROM llm_calls WHERE {where} GROUP BY 1 ORDER BY 1
                """;
            Parameters(cmd);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                buckets.Add(new StatsBucket(new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(0), DateTimeKind.Utc)), reader.GetInt64(1), reader.GetInt64(2), reader.GetDecimal(3)));
            }
        }

        var errors = new List<NamedCount>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = $"SELECT coalesce(error_class, 'unknown'), count(*) FROM llm_calls WHERE {where} AND NOT success GROUP BY 1 ORDER BY 2 DESC, 1";
            Parameters(cmd);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                errors.Add(new NamedCount(reader.GetString(0), reader.GetInt64(1)));
            }
        }

        var top = Math.Clamp(query.Top, 1, 100);
        async Task<List<NamedSpend>> TopAsync(string column)
        {
            var list = new List<NamedSpend>();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SELECT {column}, count(*), coalesce(sum(cost_usd), 0) AS cost FROM llm_calls WHERE {where} GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT {top}";
            Parameters(cmd);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                list.Add(new NamedSpend(reader.GetString(0), reader.GetInt64(1), reader.GetDecimal(2)));
            }

            return list;
        }

        var tenants = await TopAsync("tenant_id");
        var models = await TopAsync("model");
        return new LedgerStats(calls, failed, cost, p50, p95, t50, t95, buckets, errors, tenants, models);
    }

    public async Task<IReadOnlyList<DayModelSpend>> SpendByDayAndModelAsync(string tenantId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        // Whole UTC days from the rollups, the partial days at the edges from rows (one statement, one snapshot).
        var first = CeilingDay(from);
        var last = DateOnly.FromDateTime(to.UtcDateTime);
        if (last < first)
        {
            last = first;
        }

        await using var cmd = _source.CreateCommand("""
            SELECT day, model, sum(calls)::bigint, sum(cost) FROM (
                SELECT day, model, sum(calls) AS calls, sum(cost_usd) AS cost FROM llm_usage_daily
                WHERE tenant_id = @tenant AND day >= @first AND day < @last GROUP BY 1, 2
                UNION ALL
                SELECT (completed_at AT TIME ZONE 'UTC')::date, model, count(*), coalesce(sum(cost_usd), 0)
                FROM llm_calls WHERE tenant_id = @tenant AND completed_at >= @from AND completed_at < @to
                                 AND NOT (completed_at >= @firstts AND completed_at < @lastts) GROUP BY 1, 2) AS x
            GROUP BY 1, 2 ORDER BY 1, 2
            """);
        cmd.Parameters.AddWithValue("tenant", tenantId);
        cmd.Parameters.AddWithValue("from", from.UtcDateTime);
        cmd.Parameters.AddWithValue("to", to.UtcDateTime);
        cmd.Parameters.AddWithValue("first", first);
        cmd.Parameters.AddWithValue("last", last);
        cmd.Parameters.AddWithValue("firstts", first.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        cmd.Parameters.AddWithValue("lastts", last.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
        var rows = new List<DayModelSpend>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DayModelSpend(DateOnly.FromDateTime(reader.GetDateTime(0)), reader.GetString(1), reader.GetInt64(2), reader.GetDecimal(3)));
        }

        return rows;
    }

    private static void Filter(NpgsqlCommand cmd, StringBuilder where, string column, string? value)
    {
        if (value is not null)
        {
            where.Append(" AND ").Append(column).Append(" = @").Append(column);
            cmd.Parameters.AddWithValue(column, value);
        }
    }

    private static void Range(NpgsqlCommand cmd, StringBuilder where, DateTimeOffset? from, DateTimeOffset? to)
    {
        if (from is { } f)
        {
            where.Append(" AND completed_at >= @from");
            cmd.Parameters.AddWithValue("from", f.UtcDateTime);
        }

        if (to is { } t)
        {
            where.Append(" AND completed_at < @to");
            cmd.Parameters.AddWithValue("to", t.UtcDateTime);
        }
    }
}
