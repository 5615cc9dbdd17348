using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// The console's session: signing in with the admin key or a tenant key yields a data-protected cookie (HttpOnly,
/// SameSite=Strict, Secure when the request is HTTPS, path <c>/ui</c>, fixed lifetime), which only the console's
/// policies accept — the JSON API keeps requiring a key in a header, so the cookie cannot drive it. A tenant session
/// carries the SHA-256 of its key and ends as soon as that key is revoked or rotated. Every mutation carries an
/// antiforgery token (<see cref="CsrfFilterAsync"/>).
/// </summary>
internal static class ConsoleAuthentication
{
    public const string Scheme = "LlmRouterConsole";

    /// <summary>Policy: any console session (admin or tenant).</summary>
    public const string SessionPolicy = "console";

    /// <summary>Policy: the admin's console session.</summary>
    public const string AdminPolicy = "console-admin";

    public const string CookieName = "llmrouter_console";

    public const string CsrfField = "__csrf";

    private const string KeyHashClaim = "llmrouter:key-sha256";

    public static IServiceCollection AddLlmRouterConsole(this IServiceCollection services, ConsoleOptions options)
    {
        services.AddSingleton(options);
        if (options.KeysPath is { } keys)
        {
            // One key ring for every process serving /ui, so a session opened on one is valid on all.
            services.AddDataProtection().SetApplicationName("Orleans.LlmRouter").PersistKeysToFileSystem(new DirectoryInfo(keys));
        }

        services.AddAuthentication().AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.Path = "/ui";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.LoginPath = "/ui/signin";
            cookie.LogoutPath = "/ui/signout";
            cookie.AccessDeniedPath = "/ui/denied";
            cookie.ExpireTimeSpan = options.SessionLifetime;
            cookie.SlidingExpiration = false;
            cookie.Events.OnValidatePrincipal = ValidateAsync;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(SessionPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(LlmRouterAuthentication.AdminRole));
        services.AddAntiforgery(a =>
        {
            a.Cookie.Name = "llmrouter_console_csrf";
            a.Cookie.Path = "/ui";
            a.Cookie.SameSite = SameSiteMode.Strict;
            a.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            a.FormFieldName = CsrfField;
            a.HeaderName = "X-CSRF-Token";
        });
        return services;
    }

    /// <summary>Signs in with a key: the admin key, or a tenant's (read-only). False when the key is neither.</summary>
    public static async Task<bool> SignInAsync(HttpContext http, string? key)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (string.IsNullOrEmpty(key) || key.Length > 512)
        {
            return false;
        }

        Claim[] claims;
        if (http.RequestServices.GetRequiredService<AdminKey>().Matches(key))
        {
            claims = [new Claim(ClaimTypes.Role, LlmRouterAuthentication.AdminRole), new Claim(ClaimTypes.Name, "admin")];
        }
        else if (await http.RequestServices.GetRequiredService<TenantDirectory>().ResolveAsync(key) is { } tenant)
        {
            claims = [new Claim(LlmRouterAuthentication.TenantClaim, tenant.Id), new Claim(ClaimTypes.Name, tenant.Id), new Claim(KeyHashClaim, Hash(key))];
        }
        else
        {
            return false;
        }

        await http.SignInAsync(Scheme, new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme)), new AuthenticationProperties { IsPersistent = false });
        return true;
    }

    public static Task SignOutAsync(HttpContext http) => http.SignOutAsync(Scheme);

    /// <summary>
    /// Endpoint filter of the console: a POST without a valid antiforgery token (form field <see cref="CsrfField"/> or
    /// header <c>X-CSRF-Token</c>, bound to the session) is refused with 400 before its handler runs.
    /// </summary>
    public static async ValueTask<object?> CsrfFilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        if (HttpMethods.IsPost(http.Request.Method) && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
        {
            return Html.Page(http, "Refused", "<h1>Refused</h1><p>The form's anti-forgery token is missing or invalid: reload the page and try again.</p>", StatusCodes.Status400BadRequest, session: null);
        }

        return await next(context);
    }

    /// <summary>A tenant session ends when its key no longer opens the tenant (revoked, rotated, tenant deleted).</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal is null || principal.IsInRole(LlmRouterAuthentication.AdminRole))
        {
            return;
        }

        var tenantId = principal.FindFirstValue(LlmRouterAuthentication.TenantClaim);
        var hash = principal.FindFirstValue(KeyHashClaim);
        if (tenantId is null || hash is null || !await context.HttpContext.RequestServices.GetRequiredService<TenantDirectory>().OpensAsync(tenantId, hash))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
