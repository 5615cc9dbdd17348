using System.Security.Claims;
using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.Ui;

/// <summary>
/// Who is signed in to the console: the admin (everything) or one tenant (that tenant's pages, read-only). Read from
/// the console cookie's principal. A tenant session sees its whole tenant, its projects, keys and end users included
/// (a key of a project is not narrowed to its project here).
/// </summary>
internal sealed record ConsoleSession(bool IsAdmin, string? TenantId)
{
    public string Name => IsAdmin ? "admin" : "tenant " + TenantId;

    /// <summary>True when this session may read the tenant's pages.</summary>
    public bool MayRead(string tenantId) => IsAdmin || string.Equals(TenantId, tenantId, StringComparison.Ordinal);

    public static ConsoleSession Of(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new(user.IsInRole(LlmRouterAuthentication.AdminRole), user.FindFirstValue(LlmRouterAuthentication.TenantClaim));
    }
}
