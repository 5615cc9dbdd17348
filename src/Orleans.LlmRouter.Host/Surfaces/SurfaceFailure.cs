using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// An exception classified for a surface: its <see cref="Kind"/>, the HTTP status most surfaces answer with, the text
/// and, where it applies, the offending parameter and the seconds to wait. The one place that decides which failures
/// have an answer (<see cref="Maps"/>) and what they are, so a failure reads the same on every surface.
/// </summary>
internal sealed record SurfaceFailure(FailureKind Kind, int Status, string Message, string? Param, string? RetryAfterSeconds, Exception Error)
{
    /// <summary>Seconds a caller is asked to wait after a lost node (failover is under way; see README, "A lost silo").</summary>
    public const string ClusterRetryAfterSeconds = "1";

    /// <summary>
    /// True when <see cref="Classify"/> has an answer for <paramref name="ex"/>; anything else is a defect left to the
    /// last-line handler (500). <paramref name="callLost"/>: the call's silo was lost, so its cancellation is a cluster
    /// fault, not the client going away.
    /// </summary>
    public static bool Maps(Exception ex, bool callLost = false) =>
        ex is RequestTooLargeException or InvalidRequestException or JsonException or InvalidRoutingException or BudgetExceededException
            or TenantRateLimitedException or AllModelsFailedException or TenantNotFoundException or SurfaceNotFoundException
        || (callLost && ex is OperationCanceledException)
        || IsClusterFault(ex);

    /// <summary>
    /// True when <paramref name="ex"/> says a node of the cluster was lost or unreachable during the call (the router
    /// gave up on a grain whose silo is gone, the silo running the call died, a message was rejected, no gateway
    /// answered, or the call's response timed out): transient, never a 500.
    /// </summary>
    public static bool IsClusterFault(Exception ex) =>
        ex is ClusterUnavailableException
            or BudgetGrainReplacedException // a budget grain's replaced activation refused the call (repeated past the bound)
            or Grains.Routing.SiloDrainingException // a stopping silo refused the call (and the retry found one too)
            or Orleans.Runtime.EnumerationAbortedException // a stream's silo went away mid-stream
            or Orleans.Runtime.OrleansMessageRejectionException // includes SiloUnavailableException
            or Orleans.Runtime.GatewayTooBusyException
            or Orleans.Runtime.Messaging.ConnectionFailedException
            or TimeoutException;

    /// <summary>Classifies <paramref name="ex"/>; check <see cref="Maps"/> first.</summary>
    public static SurfaceFailure Classify(Exception ex, bool callLost = false)
    {
        ArgumentNullException.ThrowIfNull(ex);
        if ((callLost && ex is OperationCanceledException) || IsClusterFault(ex))
        {
            var router = ex as ClusterUnavailableException;
            return new(FailureKind.ClusterUnavailable, StatusCodes.Status503ServiceUnavailable, router?.Message ?? "A node of the cluster became unavailable during the call; retry shortly.", null,
                router is null ? ClusterRetryAfterSeconds : router.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture), ex);
        }

        return ex switch
        {
            RequestTooLargeException tooLarge => new(FailureKind.TooLarge, StatusCodes.Status413PayloadTooLarge, tooLarge.Message, null, null, ex),
            InvalidRequestException bad => new(FailureKind.InvalidRequest, StatusCodes.Status400BadRequest, bad.Message, bad.Param, null, ex),
            JsonException json => new(FailureKind.InvalidRequest, StatusCodes.Status400BadRequest, "The request body is not valid JSON: " + json.Message, null, null, ex),
            InvalidRoutingException { NotFound: true } routing => new(FailureKind.NotFound, StatusCodes.Status404NotFound, routing.Message, routing.Param ?? "model", null, ex),
            InvalidRoutingException routing => new(FailureKind.InvalidRequest, StatusCodes.Status400BadRequest, routing.Message, routing.Param ?? "model", null, ex),
            SurfaceNotFoundException missing => new(FailureKind.NotFound, StatusCodes.Status404NotFound, missing.Message, missing.Param, null, ex),
            BudgetExceededException budget => new(FailureKind.BudgetExceeded, StatusCodes.Status402PaymentRequired, budget.Message, null, null, ex),
            TenantRateLimitedException limited => new(FailureKind.RateLimited, StatusCodes.Status429TooManyRequests, limited.Message, null, limited.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture), ex),
            TenantNotFoundException => new(FailureKind.Unauthorized, StatusCodes.Status401Unauthorized, "Missing or invalid API key.", null, null, ex),
            AllModelsFailedException failed when Saturated(failed) =>
                new(FailureKind.Overloaded, StatusCodes.Status503ServiceUnavailable, failed.Message, null, RetryAfter(failed), ex),
            AllModelsFailedException failed => new(FailureKind.UpstreamFailed, StatusCodes.Status502BadGateway, failed.Message, null, null, ex),
            _ => throw new ArgumentException($"No surface mapping for {ex.GetType().Name}; check Maps first.", nameof(ex)),
        };
    }

    /// <summary>
    /// True when every attempt was refused for capacity — rate-limited or overloaded upstream, or refused by a limit of
    /// ours (rpm, tpm, max_concurrency of a provider, model or deployment), including deployments skipped when chosen
    /// because their minute was spent or a 429 paused them: a retry later may pass, so the answer is 503
    /// (Anthropic 529) with Retry-After, never a failed upstream.
    /// </summary>
    public static bool Saturated(AllModelsFailedException failed) =>
        failed.Refusals().Any() && failed.Refusals().All(c => c is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded
            or ProviderErrorClass.RequestsPerMinuteLimit or ProviderErrorClass.TokensPerMinuteLimit or ProviderErrorClass.ConcurrencyLimit);

    /// <summary>Whole seconds to wait after a capacity refusal: the router's hint (to the end of a per-minute window), at least 1.</summary>
    public static string RetryAfter(AllModelsFailedException failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        return ((int)Math.Max(1, Math.Ceiling(failed.RetryAfterSeconds ?? 1))).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The error code of a capacity refusal: when every attempt met a limit of ours, that limit's name if it was one
    /// (<c>concurrency_limit</c>, <c>requests_per_minute_limit</c>, <c>tokens_per_minute_limit</c>) or
    /// <c>capacity_exhausted</c>; when an upstream was rate-limited or overloaded too, <c>all_models_failed</c> as before.
    /// </summary>
    public static string CapacityCode(AllModelsFailedException failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        if (!OwnLimitsOnly(failed))
        {
            return "all_models_failed";
        }

        var classes = failed.Refusals().Distinct().ToList();
        return classes is [{ } only] ? only.Name() : "capacity_exhausted";
    }

    /// <summary>True when every attempt was refused by a limit of ours (rpm, tpm, max_concurrency), none by an upstream.</summary>
    public static bool OwnLimitsOnly(AllModelsFailedException failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        return failed.Refusals().Any() && failed.Refusals().All(c => c is ProviderErrorClass.RequestsPerMinuteLimit or ProviderErrorClass.TokensPerMinuteLimit or ProviderErrorClass.ConcurrencyLimit);
    }
}
