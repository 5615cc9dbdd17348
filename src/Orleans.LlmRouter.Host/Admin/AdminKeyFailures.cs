using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// The admin API's 401 and 403 as problem details. On admin-only routes a tenant key is as good as none (401); on a
/// tenant's own routes (usage, reconcile) another tenant's key is a 403.
/// </summary>
internal sealed class AdminKeyFailures(bool adminOnly) : IKeyFailureResponder
{
    public static AdminKeyFailures AdminOnly { get; } = new(adminOnly: true);

    public static AdminKeyFailures TenantOrAdmin { get; } = new(adminOnly: false);

    public Task ChallengeAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        string detail;
        if (!adminOnly)
        {
            detail = "A valid admin key or the tenant's own key is required.";
        }
        else
        {
            detail = http.RequestServices.GetRequiredService<AdminKey>().IsConfigured
                ? "A valid admin key is required: 'Authorization: Bearer <admin key>'."
                : "The admin API is closed: set LlmRouter:AdminKeyHash.";
        }

        http.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(detail, statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized").ExecuteAsync(http);
    }

    public Task ForbidAsync(HttpContext http) => adminOnly
        ? ChallengeAsync(http)
        : TypedResults.Problem("A tenant key may read only its own tenant's usage and audit.", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden").ExecuteAsync(http);
}
