using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Ledger;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// The admin surface's one mapping of exceptions to problem details (RFC 7807), applied to every <c>/api/v1</c>
/// endpoint by <see cref="FilterAsync"/> and used by the last-line exception handler: 400 invalid request or JSON,
/// 404/400 cannot route, 404/409/400 tenant registry errors, 401 a tenant that does not exist (any more), 503 with
/// Retry-After an unavailable ledger or a lost or unreachable node of the cluster (<see cref="OpenAiErrors.IsClusterFault"/>).
/// </summary>
internal static class AdminProblems
{
    public static bool Maps(Exception ex) =>
        ex is JsonException or InvalidRequestException or InvalidRoutingException or TenantRegistryException or TenantNotFoundException or LedgerUnavailableException
        || OpenAiErrors.IsClusterFault(ex);

    public static IResult For(HttpContext http, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(ex);
        if (OpenAiErrors.IsClusterFault(ex))
        {
            http.Response.Headers.RetryAfter = ex is ClusterUnavailableException c ? c.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture) : OpenAiErrors.ClusterRetryAfterSeconds;
            return TypedResults.Problem(ex is ClusterUnavailableException ? ex.Message : "A node of the cluster became unavailable during the call; retry shortly.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Cluster unavailable");
        }

        return ex switch
        {
            JsonException json => TypedResults.Problem("The request body is not valid JSON: " + json.Message, statusCode: 400, title: "Invalid request"),
            InvalidRequestException bad => TypedResults.Problem(bad.Message, statusCode: 400, title: "Invalid request", extensions: new Dictionary<string, object?> { ["param"] = bad.Param }),
            InvalidRoutingException routing => TypedResults.Problem(routing.Message, statusCode: routing.NotFound ? 404 : 400, title: "Cannot route"),
            TenantRegistryException registry => Problem(registry.Kind switch { "not_found" => 404, "conflict" => 409, _ => 400 }, registry.Message),
            TenantNotFoundException missing => Unauthorized(http, missing.Message),
            LedgerUnavailableException ledger => LedgerUnavailable(http, ledger),
            _ => throw new ArgumentException($"No admin mapping for {ex.GetType().Name}; check Maps first.", nameof(ex)),
        };
    }

    /// <summary>The endpoint filter of the <c>/api/v1</c> group.</summary>
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            return await next(context);
        }
        catch (Exception ex) when (Maps(ex) && !context.HttpContext.Response.HasStarted)
        {
            return For(context.HttpContext, ex);
        }
    }

    public static IResult Problem(int status, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: status switch { 404 => "Not found", 409 => "Conflict", _ => "Invalid request" });

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(detail, statusCode: 401, title: "Unauthorized");
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult LedgerUnavailable(HttpContext http, LedgerUnavailableException ex)
    {
        http.Response.Headers.RetryAfter = "5";
        return TypedResults.Problem(ex.Message + " Retry shortly.", statusCode: 503, title: "Ledger unavailable");
    }
}
