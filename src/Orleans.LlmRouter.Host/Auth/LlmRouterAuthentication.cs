using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>
/// Tenant and admin keys through ASP.NET Core authentication: the <see cref="Scheme"/> handler
/// (<see cref="LlmRouterKeyHandler"/>) reads <c>Authorization: Bearer</c> or <c>x-api-key</c> and yields a principal
/// with the tenant's id (<see cref="TenantClaim"/>) or the <see cref="AdminRole"/>; endpoints require one of the named
/// policies. How a 401 or 403 reads is the route group's (<see cref="IKeyFailureResponder"/> metadata).
/// </summary>
internal static class LlmRouterAuthentication
{
    /// <summary>The authentication scheme.</summary>
    public const string Scheme = "LlmRouterKey";

    /// <summary>The claim carrying the tenant id of a tenant key.</summary>
    public const string TenantClaim = "llmrouter:tenant";

    /// <summary>The role of the admin key.</summary>
    public const string AdminRole = "admin";

    /// <summary>Policy: a tenant key.</summary>
    public const string TenantPolicy = "tenant";

    /// <summary>Policy: the admin key.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Policy: the admin key, or the key of the tenant named by the route's <c>{id}</c>.</summary>
    public const string TenantOrAdminPolicy = "tenant-or-admin";

    /// <summary>Registers the scheme (the default) and the three policies.</summary>
    public static IServiceCollection AddLlmRouterAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, LlmRouterKeyHandler>(Scheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(TenantPolicy, p => p.RequireClaim(TenantClaim))
            .AddPolicy(AdminPolicy, p => p.RequireRole(AdminRole))
            .AddPolicy(TenantOrAdminPolicy, p => p.RequireAssertion(IsAdminOrOwnTenant));
        return services;
    }

    private static bool IsAdminOrOwnTenant(AuthorizationHandlerContext context)
    {
        if (context.User.IsInRole(AdminRole))
        {
            return true;
        }

        var tenant = context.User.FindFirstValue(TenantClaim);
        if (tenant is null)
        {
            return false;
        }

        var id = context.Resource is HttpContext http ? http.GetRouteValue("id") as string : null;
        return id is null || string.Equals(id, tenant, StringComparison.Ordinal);
    }
}
