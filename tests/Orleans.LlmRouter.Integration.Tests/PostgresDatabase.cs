using Npgsql;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// A fresh PostgreSQL database with the repository's schema (deploy/sql, applied twice to prove it is idempotent),
/// created from <c>LLMROUTER_POSTGRES</c> and dropped afterwards. Without the variable, tests skip and say why.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string Variable = "LLMROUTER_POSTGRES";

    private string? _admin;

    public string ConnectionString { get; private set; } = string.Empty;

    public string Name { get; } = "llmrouter_test_" + Guid.NewGuid().ToString("N")[..12];

    public bool Available => _admin is not null;

    public static string? Configured => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs ? cs : null;

    /// <summary>Skips the calling test, with the reason, when no PostgreSQL is configured.</summary>
    public void RequireOrSkip()
    {
        if (!Available)
        {
            Assert.Skip($"{Variable} is not set, so the PostgreSQL integration tests are skipped. Start PostgreSQL and export {Variable} (see README, 'Durable mode'); CI always sets it.");
        }
    }

    public static string SchemaDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "deploy", "sql");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("deploy/sql not found above " + AppContext.BaseDirectory);
    }

    public async ValueTask InitializeAsync()
    {
        _admin = Configured;
        if (_admin is null)
        {
            return;
        }

        await using (var admin = new NpgsqlConnection(_admin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(_admin) { Database = Name, MaxPoolSize = 12 }.ConnectionString;
        await ApplySchemaAsync(ConnectionString);
        await ApplySchemaAsync(ConnectionString); // idempotent
    }

    public static async Task ApplySchemaAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var file in Directory.EnumerateFiles(SchemaDirectory(), "*.sql").Order(StringComparer.Ordinal))
        {
            await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(file), connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.Parameters.AddWithValue(arg);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_admin);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
