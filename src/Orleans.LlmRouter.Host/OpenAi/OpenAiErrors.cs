using System.Buffers;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// Writes errors in the OpenAI shape: <c>{"error":{"message","type","param","code"}}</c>. <see cref="Maps"/> and
/// <see cref="WriteExceptionAsync"/> are the OpenAI surface's one mapping of exceptions to responses: chat, embeddings
/// and models, the authentication handler's 401 (<see cref="WriteUnauthorizedAsync"/>) and the last-line exception
/// handler all answer through them, so one failure gets one status wherever it happens.
/// </summary>
internal static class OpenAiErrors
{
    /// <summary>The 401 text of the OpenAI surface (missing, unknown or revoked key; a key whose tenant is gone).</summary>
    public const string UnauthorizedMessage = "Missing or invalid API key. Send 'Authorization: Bearer <tenant key>'.";

    /// <summary>
    /// True when <see cref="WriteExceptionAsync"/> has an answer for <paramref name="ex"/>; anything else is a defect
    /// left to the last-line handler (500). <paramref name="callLost"/>: the call's silo was lost, so its cancellation
    /// is a cluster fault, not the client going away.
    /// </summary>
    public static bool Maps(Exception ex, bool callLost = false) => Surfaces.SurfaceFailure.Maps(ex, callLost);

    /// <summary>
    /// The mapping: 413 too large; 400 invalid request or JSON; 404/400 cannot route; 402 budget; 429 the tenant's own
    /// rate limit; 401 a tenant that does not exist (any more); 503 with Retry-After a lost or unreachable node
    /// (<see cref="IsClusterFault"/>); all models failed is 503 with Retry-After when every attempt was refused for
    /// capacity (a limit of ours, or rate-limited or overloaded upstream: retry later helps), else 502.
    /// </summary>
    public static Task WriteExceptionAsync(HttpContext http, Exception ex, bool callLost = false)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(ex);
        if ((callLost && ex is OperationCanceledException) || IsClusterFault(ex))
        {
            return WriteClusterUnavailableAsync(http, ex);
        }

        return ex switch
        {
            RequestTooLargeException tooLarge => WriteTooLargeAsync(http, tooLarge.Message),
            InvalidRequestException bad => WriteAsync(http, StatusCodes.Status400BadRequest, bad.Message, "invalid_request_error", bad.Param, "invalid_request"),
            JsonException json => WriteAsync(http, StatusCodes.Status400BadRequest, "The request body is not valid JSON: " + json.Message, "invalid_request_error", null, "invalid_request"),
            InvalidRoutingException routing => WriteAsync(http, routing.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, routing.Message, "invalid_request_error", routing.Param ?? "model", routing.NotFound ? "model_not_found" : "invalid_request"),
            BudgetExceededException budget => WriteBudgetAsync(http, budget),
            TenantRateLimitedException limited => WriteRateLimitedAsync(http, limited),
            TenantNotFoundException => WriteUnauthorizedAsync(http),
            Surfaces.SurfaceNotFoundException missing => WriteAsync(http, StatusCodes.Status404NotFound, missing.Message, "invalid_request_error", missing.Param, "not_found"),
            AllModelsFailedException failed when Surfaces.SurfaceFailure.Saturated(failed) => WriteCapacityAsync(http, failed),
            AllModelsFailedException failed => WriteAsync(http, StatusCodes.Status502BadGateway, failed.Message, "all_models_failed", null, "all_models_failed"),
            _ => throw new ArgumentException($"No OpenAI mapping for {ex.GetType().Name}; check Maps first.", nameof(ex)),
        };
    }

    /// <summary>401 <c>invalid_api_key</c>.</summary>
    public static Task WriteUnauthorizedAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!http.Response.HasStarted)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return WriteAsync(http, StatusCodes.Status401Unauthorized, UnauthorizedMessage, "invalid_request_error", null, "invalid_api_key");
    }

    public static async Task WriteAsync(HttpContext http, int status, string message, string type, string? param = null, string? code = null, bool? shouldRetry = null)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        if (shouldRetry is { } retry)
        {
            http.Response.Headers["x-should-retry"] = retry ? "true" : "false";
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OpenAiWriter.WriteError(writer, message, type, param, code);
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    /// <summary>413 <c>request_too_large</c>: the body is over <c>LlmRouter:Limits:MaxBodyBytes</c>; not worth retrying as is.</summary>
    public static Task WriteTooLargeAsync(HttpContext http, string message) =>
        WriteAsync(http, StatusCodes.Status413PayloadTooLarge, message, "invalid_request_error", null, "request_too_large", shouldRetry: false);

    /// <summary>Seconds a caller is asked to wait after a lost node (failover is under way; see README, "A lost silo").</summary>
    public const string ClusterRetryAfterSeconds = Surfaces.SurfaceFailure.ClusterRetryAfterSeconds;

    /// <summary>
    /// True when <paramref name="ex"/> says a node of the cluster was lost or unreachable during the call (the router
    /// gave up on a grain whose silo is gone, the silo running the call died, a message was rejected, no gateway
    /// answered, or the call's response timed out): transient, answered 503 with Retry-After, never 500.
    /// </summary>
    public static bool IsClusterFault(Exception ex) => Surfaces.SurfaceFailure.IsClusterFault(ex);

    /// <summary>
    /// 503 <c>service_unavailable</c> / <c>cluster_unavailable</c> with <c>Retry-After</c> (the router's own when it gave
    /// up with <see cref="ClusterUnavailableException"/>): a node was lost mid-call.
    /// </summary>
    public static Task WriteClusterUnavailableAsync(HttpContext http, Exception? ex = null)
    {
        var router = ex as ClusterUnavailableException;
        if (!http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = router is null ? ClusterRetryAfterSeconds : router.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return WriteAsync(http, StatusCodes.Status503ServiceUnavailable, router?.Message ?? "A node of the cluster became unavailable during the call; retry shortly.", "service_unavailable", null, "cluster_unavailable", shouldRetry: true);
    }

    /// <summary>
    /// 503 with <c>Retry-After</c> when every candidate was refused for capacity (a limit of ours or the provider's
    /// 429/overload): retryable, not a failed upstream. Refused by our limits only, the type is <c>service_unavailable</c>
    /// and the code names the limit (<see cref="Surfaces.SurfaceFailure.CapacityCode"/>); with an upstream among them, type
    /// and code stay <c>all_models_failed</c>. The message lists each attempt.
    /// </summary>
    public static Task WriteCapacityAsync(HttpContext http, AllModelsFailedException failed)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = Surfaces.SurfaceFailure.RetryAfter(failed);
        }

        var type = Surfaces.SurfaceFailure.OwnLimitsOnly(failed) ? "service_unavailable" : "all_models_failed";
        return WriteAsync(http, StatusCodes.Status503ServiceUnavailable, failed.Message, type, null, Surfaces.SurfaceFailure.CapacityCode(failed), shouldRetry: true);
    }

    /// <summary>429 for a tenant's own rpm/tpm, with <c>Retry-After</c> (seconds to the next minute).</summary>
    public static Task WriteRateLimitedAsync(HttpContext http, TenantRateLimitedException ex)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = ex.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return WriteAsync(http, StatusCodes.Status429TooManyRequests, ex.Message, "rate_limit_exceeded", null, ex.Limit == "tpm" ? "tokens_per_minute" : "requests_per_minute", shouldRetry: true);
    }

    /// <summary>
    /// 402 <c>budget_exceeded</c> with the window, usage, limit and the reservation that did not fit, and
    /// <c>x-should-retry: false</c> so SDKs do not retry it.
    /// </summary>
    public static async Task WriteBudgetAsync(HttpContext http, BudgetExceededException ex)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = StatusCodes.Status402PaymentRequired;
        http.Response.ContentType = "application/json";
        http.Response.Headers["x-should-retry"] = "false";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", ex.Message);
            w.WriteString("type", "budget_exceeded");
            w.WriteNull("param");
            Surfaces.BudgetErrorFields.Write(w, ex);

            w.WriteEndObject();
            w.WriteEndObject();
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }
}
