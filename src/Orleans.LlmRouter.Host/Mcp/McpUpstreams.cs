using System.Collections.Concurrent;
using ModelContextProtocol.Client;
using Orleans.LlmRouter.Core.Mcp;

namespace Orleans.LlmRouter.Host.Mcp;

/// <summary>
/// One MCP client per upstream server, connected on first use over Streamable HTTP and shared by every call of this
/// process (the SDK's client multiplexes concurrent requests). A connection that fails, or a client whose transport
/// broke, is dropped so the next call connects again. The server's key is read from its <c>api_key_env</c> variable
/// when connecting and only ever goes into the request header.
/// </summary>
internal sealed class McpUpstreams(ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<McpClient>>> _clients = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Reads an environment variable (tests may replace it).</summary>
    internal Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public async Task<McpClient> GetAsync(McpServerDefinition server, CancellationToken cancellationToken)
    {
        var lazy = _clients.GetOrAdd(server.Id, static (_, s) => new Lazy<Task<McpClient>>(() => s.Self.ConnectAsync(s.Server)), (Self: this, Server: server));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch when (lazy.Value.IsFaulted || lazy.Value.IsCanceled)
        {
            _clients.TryRemove(KeyValuePair.Create(server.Id, lazy));
            throw;
        }
    }

    /// <summary>Drops <paramref name="client"/> (its transport failed): the next call connects again.</summary>
    public void Invalidate(string serverId, McpClient client)
    {
        if (_clients.TryGetValue(serverId, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && ReferenceEquals(lazy.Value.Result, client)
            && _clients.TryRemove(KeyValuePair.Create(serverId, lazy)))
        {
            _ = client.DisposeAsync().AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    private async Task<McpClient> ConnectAsync(McpServerDefinition server)
    {
        var headers = new Dictionary<string, string>(server.Headers, StringComparer.OrdinalIgnoreCase);
        if (server.ApiKeyEnv is { } env && Environment(env) is { Length: > 0 } key)
        {
            if (server.ApiKeyHeader is { } header)
            {
                headers[header] = key;
            }
            else
            {
                headers["Authorization"] = "Bearer " + key;
            }
        }

        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = server.Url,
                Name = "llmrouter-" + server.Id,
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = headers,
                ConnectionTimeout = server.Timeout,
            },
            _http,
            loggers,
            ownsHttpClient: false);
        using var timeout = new CancellationTokenSource(server.Timeout);
        return await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new() { Name = "orleans-llmrouter", Version = "1.0" } }, loggers, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _clients.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync();
            }
        }

        _clients.Clear();
        _http.Dispose();
    }
}
