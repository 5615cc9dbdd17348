using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Auth;

/// <summary>The authenticated tenant of a request behind the <c>tenant</c> policy.</summary>
internal static class HttpContextTenantExtensions
{
    /// <summary>The tenant of the request's key; only under <see cref="LlmRouterAuthentication.TenantPolicy"/>.</summary>
    public static TenantDefinition Tenant(this HttpContext http) =>
        http.Features.Get<AuthenticatedTenant>()?.Tenant ?? throw new InvalidOperationException("The endpoint needs the 'tenant' policy.");

    /// <summary>The tenant of the request's key, or null (admin key, no key).</summary>
    public static TenantDefinition? TenantOrNull(this HttpContext http) => http.Features.Get<AuthenticatedTenant>()?.Tenant;
}
