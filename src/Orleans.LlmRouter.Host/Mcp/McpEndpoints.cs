using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Mcp;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Host.Admin;
using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.Mcp;

/// <summary>
/// The MCP gateway's routes: <c>/mcp</c> (MCP over Streamable HTTP with the official SDK, tenant keys) and the admin
/// API's <c>/api/v1/mcp/servers</c>. <c>/mcp</c> runs in the SDK's stateless mode: no session lives in a process, so
/// a client keeps working through any silo or front end after one is lost (each request carries everything; the
/// gateway's per-server state lives in <see cref="IMcpServerGrain"/>).
/// </summary>
internal static class McpEndpoints
{
    /// <summary>The path of the MCP endpoint.</summary>
    public const string Path = "/mcp";

    /// <summary>Registers the MCP server (stateless Streamable HTTP) with the gateway's handlers.</summary>
    public static IServiceCollection AddLlmRouterMcp(this IServiceCollection services)
    {
        services.AddSingleton<McpUpstreams>();
        services.AddSingleton<McpGateway>();
        services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "orleans-llmrouter", Version = typeof(McpEndpoints).Assembly.GetName().Version?.ToString() ?? "1.0" };
                o.ServerInstructions = "Orleans.LlmRouter MCP gateway: tools of every MCP server this key may use, named server__tool.";
            })
            .WithHttpTransport(o => o.Stateless = true)
            .WithListToolsHandler(async (ctx, ct) =>
            {
                var (_, access) = await CallerAsync(ctx);
                return await ctx.Services!.GetRequiredService<McpGateway>().ListToolsAsync(access, ct);
            })
            .WithCallToolHandler(async (ctx, ct) =>
            {
                var (tenant, access) = await CallerAsync(ctx);
                var call = ctx.Params ?? throw new McpProtocolException("tools/call needs params with a tool name.", McpErrorCode.InvalidParams);
                return await ctx.Services!.GetRequiredService<McpGateway>().CallToolAsync(tenant.Id, access, call, ct);
            })
            .WithListPromptsHandler(async (ctx, ct) =>
            {
                var (_, access) = await CallerAsync(ctx);
                return await ctx.Services!.GetRequiredService<McpGateway>().ListPromptsAsync(access, ct);
            })
            .WithGetPromptHandler(async (ctx, ct) =>
            {
                var (_, access) = await CallerAsync(ctx);
                var request = ctx.Params ?? throw new McpProtocolException("prompts/get needs params with a prompt name.", McpErrorCode.InvalidParams);
                return await ctx.Services!.GetRequiredService<McpGateway>().GetPromptAsync(access, request, ct);
            });
        return services;
    }

    /// <summary>Maps <c>/mcp</c> (tenant keys) and <c>/api/v1/mcp/servers</c> (admin key).</summary>
    public static void MapLlmRouterMcp(this IEndpointRouteBuilder routes)
    {
        routes.MapMcp(Path).RequireAuthorization(LlmRouterAuthentication.TenantPolicy);
        var admin = routes.MapGroup("/api/v1/mcp").WithTags("admin").AddEndpointFilter(AdminProblems.FilterAsync)
            .RequireAuthorization(LlmRouterAuthentication.AdminPolicy).WithMetadata(AdminKeyFailures.AdminOnly);
        admin.MapGet("/servers", ListServersAsync);
        admin.MapPost("/servers/{id}/enable", (string id, IGrainFactory grains, ModelCatalog catalog) => SetEnabledAsync(id, true, grains, catalog));
        admin.MapPost("/servers/{id}/disable", (string id, IGrainFactory grains, ModelCatalog catalog) => SetEnabledAsync(id, false, grains, catalog));
    }

    private static async Task<(TenantDefinition Tenant, Core.Mcp.McpAccess Access)> CallerAsync(MessageContext ctx)
    {
        var id = ctx.User?.FindFirstValue(LlmRouterAuthentication.TenantClaim);
        var tenant = id is null ? null : await ctx.Services!.GetRequiredService<TenantDirectory>().GetAsync(id);
        return tenant is null
            ? throw new McpProtocolException("This key is not a tenant's.", McpGatewayErrors.Forbidden)
            : (tenant, McpGateway.AccessOf(tenant));
    }

    private static async Task<Ok<McpServerView[]>> ListServersAsync(IGrainFactory grains, ModelCatalog catalog)
    {
        var views = await Task.WhenAll(catalog.McpServers.Values.OrderBy(s => s.Id, StringComparer.Ordinal).Select(async s =>
            new McpServerView(s.Id, s.Url.GetLeftPart(UriPartial.Path), s.Description, s.Timeout.TotalSeconds, s.Limits.RequestsPerMinute, s.PricePerCall, s.ToolPrices,
                s.Enabled ? await grains.GetGrain<IMcpServerGrain>(s.Id).GetStatusAsync() : null, s.Enabled, s.DisabledReason)));
        return TypedResults.Ok(views);
    }

    private static async Task<Results<Ok<McpServerStatus>, ProblemHttpResult>> SetEnabledAsync(string id, bool enabled, IGrainFactory grains, ModelCatalog catalog)
    {
        if (!catalog.McpServers.TryGetValue(id, out var server))
        {
            return TypedResults.Problem($"MCP server '{id}' is not in the catalog.", statusCode: 404, title: "Not found");
        }

        if (!server.Enabled)
        {
            return TypedResults.Problem($"MCP server '{id}' is disabled by configuration ({server.DisabledReason}); it cannot be changed at run time.", statusCode: 409, title: "Conflict");
        }

        return TypedResults.Ok(await grains.GetGrain<IMcpServerGrain>(id).SetEnabledAsync(enabled));
    }

    /// <summary>An MCP server as the admin API shows it (never its key or header values).</summary>
    internal sealed record McpServerView(
        string Id, string Url, string? Description, double TimeoutSeconds, int? RequestsPerMinute, decimal PricePerCall,
        IReadOnlyDictionary<string, decimal> ToolPrices, McpServerStatus? Status, bool ConfiguredEnabled, string? DisabledReason);
}
