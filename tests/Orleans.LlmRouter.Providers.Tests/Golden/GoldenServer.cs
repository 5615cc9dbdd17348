using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orleans.LlmRouter.Providers.Tests.Golden;

/// <summary>
/// A fixed-response HTTP server on loopback: every request, whatever its path, is answered 200 with one recorded body
/// file from <c>Golden/Bodies</c>, written as is (SSE and NDJSON framing included). It records the request paths.
/// </summary>
internal sealed class GoldenServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GoldenServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public List<string> Paths { get; } = [];

    /// <summary>Serves <paramref name="bodyFile"/> (a name under Golden/Bodies) with <paramref name="contentType"/>.</summary>
    public static async Task<GoldenServer> StartAsync(string bodyFile, string contentType) =>
        await StartAsync(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Golden", "Bodies", bodyFile)), contentType);

    /// <summary>Serves <paramref name="body"/> with <paramref name="contentType"/>.</summary>
    public static async Task<GoldenServer> StartAsync(byte[] body, string contentType)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        GoldenServer? server = null;
        app.Run(async context =>
        {
            lock (server!.Paths)
            {
                server.Paths.Add(context.Request.Path + context.Request.QueryString);
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = contentType;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new GoldenServer(app, new Uri(address.TrimEnd('/') + "/"));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
