using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Orleans.LlmRouter.Host.Tests.Mcp;

/// <summary>How <see cref="UpstreamMcpServer"/> answers <c>tools/call</c>.</summary>
public enum UpstreamMode
{
    /// <summary>Tools answer.</summary>
    Healthy,

    /// <summary>Every call is a JSON-RPC internal error.</summary>
    Fail,

    /// <summary>Every call hangs until its caller gives up.</summary>
    Stall,

    /// <summary>Every call is answered with HTTP 200 and a body that is not JSON-RPC.</summary>
    Garbage,
}

/// <summary>
/// An MCP server built with the official SDK on a loopback port (Streamable HTTP at <c>/mcp</c>), with tools
/// <c>echo</c> (<c>{"text"}</c>), <c>add</c> (<c>{"a","b"}</c>) and <c>oops</c> (a tool error: <c>isError</c>), a prompt <c>greet</c>, that
/// requires a bearer key when given one and fails, stalls or answers garbage on demand (<see cref="Mode"/>).
/// </summary>
public sealed class UpstreamMcpServer : IAsyncDisposable
{
    private static readonly JsonElement TextSchema = JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}""").RootElement.Clone();
    private static readonly JsonElement AddSchema = JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}""").RootElement.Clone();
    private static readonly JsonElement EmptySchema = JsonDocument.Parse("""{"type":"object"}""").RootElement.Clone();

    private WebApplication _app = null!;
    private int _mode;
    private int _calls;

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>How tools/call is answered from now on.</summary>
    public UpstreamMode Mode
    {
        get => (UpstreamMode)Volatile.Read(ref _mode);
        set => Volatile.Write(ref _mode, (int)value);
    }

    /// <summary>tools/call requests that reached this server.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public static async Task<UpstreamMcpServer> StartAsync(string? requiredKey)
    {
        var server = new UpstreamMcpServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMcpServer(o => o.ServerInfo = new Implementation { Name = "upstream-test", Version = "1.0" })
            .WithHttpTransport()
            .WithListToolsHandler((_, _) => ValueTask.FromResult(new ListToolsResult
            {
                Tools =
                [
                    new Tool { Name = "echo", Description = "Echoes text.", InputSchema = TextSchema },
                    new Tool { Name = "add", Description = "Adds two numbers.", InputSchema = AddSchema },
                    new Tool { Name = "oops", Description = "Always fails as a tool.", InputSchema = EmptySchema },
                ],
            }))
            .WithCallToolHandler((ctx, ct) => server.CallAsync(ctx.Params!, ct))
            .WithListPromptsHandler((_, _) => ValueTask.FromResult(new ListPromptsResult
            {
                Prompts = [new Prompt { Name = "greet", Description = "A greeting.", Arguments = [new PromptArgument { Name = "who", Required = true }] }],
            }))
            .WithGetPromptHandler((ctx, _) => ValueTask.FromResult(new GetPromptResult
            {
                Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = "Hello, " + ctx.Params!.Arguments?["who"].GetString() } }],
            }));
        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            if (requiredKey is not null && http.Request.Headers.Authorization.ToString() != "Bearer " + requiredKey)
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            if (server.Mode == UpstreamMode.Garbage && HttpMethods.IsPost(http.Request.Method))
            {
                http.Request.EnableBuffering();
                using var reader = new StreamReader(http.Request.Body, leaveOpen: true);
                var body = await reader.ReadToEndAsync(http.RequestAborted);
                http.Request.Body.Position = 0;
                if (body.Contains("\"tools/call\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref server._calls);
                    http.Response.StatusCode = 200;
                    http.Response.ContentType = "application/json";
                    await http.Response.WriteAsync("<html>this is not JSON-RPC</html>", http.RequestAborted);
                    return;
                }
            }

            await next(http);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        server._app = app;
        server.Endpoint = new Uri(new Uri(app.Urls.First()), "/mcp");
        return server;
    }

    private async ValueTask<CallToolResult> CallAsync(CallToolRequestParams call, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        switch (Mode)
        {
            case UpstreamMode.Fail:
                throw new McpProtocolException("upstream broke", McpErrorCode.InternalError);
            case UpstreamMode.Stall:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
        }

        var args = call.Arguments ?? new Dictionary<string, JsonElement>();
        return call.Name switch
        {
            "echo" => Text("echo: " + (args.TryGetValue("text", out var t) ? t.GetString() : string.Empty)),
            "add" => Text((args["a"].GetDouble() + args["b"].GetDouble()).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            "oops" => new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "the tool failed" }] },
            _ => throw new McpProtocolException($"Unknown tool: {call.Name}", McpErrorCode.InvalidParams),
        };
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
