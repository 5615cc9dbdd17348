using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>
/// The Anthropic surface's one mapping of failures to responses, in Anthropic's shape
/// (<c>{"type":"error","error":{"type","message"}}</c>) and with its error types: 400 <c>invalid_request_error</c>,
/// 401 <c>authentication_error</c>, 402 <c>billing_error</c> (a budget, with the window, unit, usage, limit and
/// request), 403 <c>permission_error</c>, 404 <c>not_found_error</c>, 413 <c>request_too_large</c>, 429
/// <c>rate_limit_error</c>, 500 <c>api_error</c>, 529 <c>overloaded_error</c> (every candidate rate-limited upstream,
/// or a node of the cluster lost mid-call: retry shortly). Every answer carries a <c>request-id</c> header, as Anthropic's do.
/// </summary>
internal static class AnthropicErrors
{
    public const string UnauthorizedMessage = "invalid x-api-key: send the tenant key as 'x-api-key' or 'Authorization: Bearer'.";

    /// <summary>Anthropic's status for overload, which its SDKs retry.</summary>
    public const int Overloaded = 529;

    public static Task WriteExceptionAsync(HttpContext http, Exception ex, bool callLost = false)
    {
        ArgumentNullException.ThrowIfNull(http);
        var failure = SurfaceFailure.Classify(ex, callLost);
        if (failure.RetryAfterSeconds is { } retry && !http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = retry;
        }

        return failure.Kind switch
        {
            FailureKind.InvalidRequest => WriteAsync(http, 400, "invalid_request_error", failure.Message),
            FailureKind.NotFound => WriteAsync(http, 404, "not_found_error", failure.Message),
            FailureKind.TooLarge => WriteAsync(http, 413, "request_too_large", failure.Message, shouldRetry: false),
            FailureKind.Unauthorized => WriteUnauthorizedAsync(http),
            FailureKind.BudgetExceeded => WriteBudgetAsync(http, (BudgetExceededException)failure.Error),
            FailureKind.RateLimited => WriteAsync(http, 429, "rate_limit_error", failure.Message, shouldRetry: true),
            FailureKind.Overloaded or FailureKind.ClusterUnavailable => WriteAsync(http, Overloaded, "overloaded_error", failure.Message, shouldRetry: true),
            _ => WriteAsync(http, 500, "api_error", failure.Message),
        };
    }

    public static Task WriteUnauthorizedAsync(HttpContext http) => WriteAsync(http, 401, "authentication_error", UnauthorizedMessage);

    public static Task WriteAsync(HttpContext http, int status, string type, string message, bool? shouldRetry = null)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.Headers["request-id"] = Hosting.GatewayTelemetry.RequestId(http);
            if (shouldRetry is { } retry)
            {
                http.Response.Headers["x-should-retry"] = retry ? "true" : "false";
            }
        }

        return SurfaceJson.WriteAsync(http, status, (type, message), AnthropicWriter.WriteError);
    }

    /// <summary>402 <c>billing_error</c> with the same budget fields as the OpenAI surface's <c>budget_exceeded</c>.</summary>
    public static Task WriteBudgetAsync(HttpContext http, BudgetExceededException ex)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.Headers["request-id"] = Hosting.GatewayTelemetry.RequestId(http);
            http.Response.Headers["x-should-retry"] = "false";
        }

        return SurfaceJson.WriteAsync(http, StatusCodes.Status402PaymentRequired, ex, static (w, ex) => AnthropicWriter.WriteError(w, "billing_error", ex.Message, w => BudgetErrorFields.Write(w, ex)));
    }
}
