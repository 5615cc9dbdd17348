using System.Collections.Frozen;
using Orleans.Dashboard;
using Orleans.LlmRouter.Grains.Tenants;
using static Orleans.LlmRouter.Host.Ui.Html;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The admin console under <c>/ui</c>: sign-in, pages rendered on the server from the same grains, directory and
/// ledger the JSON admin API reads (no second source of truth), a small script for live updates, and the Orleans
/// dashboard at <c>/ui/cluster/</c>. Every page needs a console session (<see cref="ConsoleAuthentication"/>); pages
/// that change anything need the admin's, and every POST carries the antiforgery token.
/// </summary>
internal static class ConsoleEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Body, string Type)> Assets = LoadAssets();

    public static IEndpointRouteBuilder MapLlmRouterConsole(this IEndpointRouteBuilder routes, ConsoleOptions options)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(options);
        var ui = routes.MapGroup("/ui").ExcludeFromDescription().AddEndpointFilter(ConsoleAuthentication.CsrfFilterAsync);
        ui.MapGet("/assets/{name}", Asset).AllowAnonymous();
        ui.MapGet("/signin", (HttpContext http) => SignInPage(http, null, StatusCodes.Status200OK)).AllowAnonymous();
        ui.MapPost("/signin", (Delegate)SignInAsync).AllowAnonymous();

        var session = ui.MapGroup(string.Empty).RequireAuthorization(ConsoleAuthentication.SessionPolicy);
        session.MapPost("/signout", async (HttpContext http) =>
        {
            await ConsoleAuthentication.SignOutAsync(http);
            return Results.Redirect("/ui/signin");
        });
        session.MapGet("/denied", (HttpContext http) => Denied(http));
        session.MapGet("/", OverviewPage.RenderAsync);
        session.MapGet("/tenants/{id}", TenantPages.TenantAsync);
        session.MapGet("/calls", CallLogPages.ListAsync);
        session.MapGet("/calls.csv", CallLogPages.CsvAsync);
        session.MapGet("/calls/{requestId}", CallLogPages.DetailAsync);

        var admin = ui.MapGroup(string.Empty).RequireAuthorization(ConsoleAuthentication.AdminPolicy);
        admin.MapGet("/tenants", TenantPages.ListAsync);
        admin.MapPost("/tenants", TenantPages.CreateAsync);
        admin.MapPost("/tenants/{id}", TenantPages.UpdateAsync);
        admin.MapPost("/tenants/{id}/projects", LevelPages.CreateProjectAsync);
        admin.MapGet("/tenants/{id}/projects/{projectId}", LevelPages.ProjectAsync);
        admin.MapPost("/tenants/{id}/projects/{projectId}", LevelPages.UpdateProjectAsync);
        admin.MapPost("/tenants/{id}/projects/{projectId}/delete", LevelPages.DeleteProjectAsync);
        admin.MapPost("/tenants/{id}/keys", LevelPages.IssueKeyAsync);
        admin.MapGet("/tenants/{id}/keys/{keyId}", LevelPages.KeyAsync);
        admin.MapPost("/tenants/{id}/keys/{keyId}", LevelPages.UpdateKeyAsync);
        admin.MapPost("/tenants/{id}/keys/{keyId}/rotate", LevelPages.RotateKeyAsync);
        admin.MapPost("/tenants/{id}/keys/{keyId}/revoke", TenantPages.RevokeKeyAsync);
        admin.MapPost("/tenants/{id}/end-users", (HttpContext http, string id, IGrainFactory grains, TenantDirectory directory) => LevelPages.PutEndUserAsync(http, id, null, grains, directory));
        admin.MapGet("/tenants/{id}/end-users/{endUser}", LevelPages.EndUserAsync);
        admin.MapPost("/tenants/{id}/end-users/{endUser}", (HttpContext http, string id, string endUser, IGrainFactory grains, TenantDirectory directory) => LevelPages.PutEndUserAsync(http, id, endUser, grains, directory));
        admin.MapPost("/tenants/{id}/end-users/{endUser}/delete", LevelPages.DeleteEndUserAsync);
        admin.MapGet("/providers", ProviderPage.RenderAsync);
        admin.MapGet("/providers/data", ProviderPage.DataAsync);
        admin.MapPost("/providers/{id}/enable", (HttpContext http, string id) => ProviderPage.SetEnabledAsync(http, id, enabled: true));
        admin.MapPost("/providers/{id}/disable", (HttpContext http, string id) => ProviderPage.SetEnabledAsync(http, id, enabled: false));
        admin.MapGet("/playground", (Delegate)((HttpContext http) => PlaygroundPage.RenderAsync(http, null)));
        admin.MapPost("/playground", PlaygroundPage.RunAsync);

        if (options.Dashboard)
        {
            // The official Orleans dashboard (its own single-page app and JSON API), behind the admin's console session.
            routes.MapOrleansDashboard("/ui/cluster").RequireAuthorization(ConsoleAuthentication.AdminPolicy);
        }

        return routes;
    }

    /// <summary>The session of a request under the console's policies.</summary>
    public static ConsoleSession Session(this HttpContext http) => ConsoleSession.Of(http.User);

    /// <summary>403 page: a tenant session asking for what is not its own. Shows no data.</summary>
    public static IResult Denied(HttpContext http) =>
        Page(http, "Not allowed", "<h1>Not allowed</h1><p>This session may not open this page. A tenant key opens only its own tenant's pages, read-only.</p>", StatusCodes.Status403Forbidden, http.Session());

    private static IResult SignInPage(HttpContext http, string? error, int status)
    {
        var body = "<section class=\"signin\"><h1>Sign in</h1><p>Use the admin key (everything) or a tenant key (that tenant's pages, read-only). The key is checked once and is not stored in the browser: the session is a signed, encrypted cookie.</p>"
            + (error is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{E(error)}</p>")
            + $"<form method=\"post\" action=\"/ui/signin\">{Csrf(http)}<label for=\"key\">Key</label><input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"off\" required autofocus>"
            + $"<input type=\"hidden\" name=\"returnUrl\" value=\"{E(LocalReturnUrl(http.Request.Query["ReturnUrl"].FirstOrDefault()))}\"><button type=\"submit\">Sign in</button></form></section>";
        return Page(http, "Sign in", body, status);
    }

    private static async Task<IResult> SignInAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (!await ConsoleAuthentication.SignInAsync(http, form["key"].FirstOrDefault()))
        {
            return SignInPage(http, "That key is neither the admin key nor a tenant's.", StatusCodes.Status401Unauthorized);
        }

        return Results.Redirect(LocalReturnUrl(form["returnUrl"].FirstOrDefault()));
    }

    /// <summary>Only a path under the console is followed after signing in (no open redirect).</summary>
    private static string LocalReturnUrl(string? url) =>
        url is { Length: > 0 } u && u.StartsWith("/ui", StringComparison.Ordinal) && !u.StartsWith("//", StringComparison.Ordinal) && !u.Contains('\\', StringComparison.Ordinal) ? u : "/ui";

    private static IResult Asset(string name, HttpContext http)
    {
        if (!Assets.TryGetValue(name, out var asset))
        {
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Bytes(asset.Body, asset.Type);
    }

    private static FrozenDictionary<string, (byte[] Body, string Type)> LoadAssets()
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource["console/".Length..];
            var type = name.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : name.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript; charset=utf-8" : "application/octet-stream";
            assets[name] = (copy.ToArray(), type);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
