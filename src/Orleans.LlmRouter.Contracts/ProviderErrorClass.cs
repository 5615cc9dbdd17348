namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// Normalised classes of failure, the one error vocabulary from the provider adapters to the HTTP surfaces: an adapter
/// throws one, the router records it on the attempt and the usage record, the surfaces map it to their dialect. Its
/// snake_case name (<see cref="ProviderErrorClassNames.Name"/>) is what the ledger, the metrics and the API show.
/// </summary>
public enum ProviderErrorClass
{
    /// <summary>The API key was refused (HTTP 401).</summary>
    Authentication,
    /// <summary>The key may not use this model or endpoint (HTTP 403).</summary>
    Permission,
    /// <summary>The model or endpoint does not exist (HTTP 404).</summary>
    NotFound,
    /// <summary>The provider refused the request as invalid (e.g. HTTP 400 or 422); not retried on the same model.</summary>
    BadRequest,
    /// <summary>The prompt does not fit the model's context; the router prefers a long-context model next.</summary>
    ContextLengthExceeded,
    /// <summary>The provider refused the content under its safety policy.</summary>
    ContentPolicy,
    /// <summary>The provider's rate limit was hit (HTTP 429); transient, honouring Retry-After.</summary>
    RateLimited,
    /// <summary>The provider is overloaded (e.g. Anthropic's HTTP 529); transient.</summary>
    Overloaded,
    /// <summary>A server error (HTTP 5xx); transient.</summary>
    Server,
    /// <summary>No answer within the provider's timeout; transient.</summary>
    Timeout,
    /// <summary>The connection failed or broke; transient.</summary>
    Connection,
    /// <summary>The answer does not satisfy the requested JSON format or schema (checked by the gateway).</summary>
    StructuredOutput,
    /// <summary>The call was cancelled before an answer.</summary>
    Cancelled,

    /// <summary>The gateway did not send the request: breaker open, paused, limits spent or disabled.</summary>
    Unavailable,

    /// <summary>
    /// The provider answered, but not in its documented shape: malformed or truncated JSON, a body missing its required
    /// fields, a stream that ended without its terminal event, or any other unexpected failure inside the adapter.
    /// Counts against the provider's breaker and falls back to the next candidate (not retried on the same model).
    /// </summary>
    UpstreamInvalidResponse,

    /// <summary>A permit handed back unused (another scope refused the call): no verdict on the provider; a probe is released.</summary>
    NotSent,

    /// <summary>A node of the gateway's cluster became unavailable during the call (a stream cut by a silo loss).</summary>
    ClusterUnavailable,

    /// <summary>
    /// Not sent: the gateway's own requests-per-minute limit of the provider, model or deployment is reached for this
    /// minute (cluster-wide). Retryable: a call refused only for capacity is answered 503 with Retry-After.
    /// </summary>
    RequestsPerMinuteLimit,

    /// <summary>Not sent: the gateway's own tokens-per-minute limit of the provider, model or deployment is reached for this minute.</summary>
    TokensPerMinuteLimit,

    /// <summary>Not sent: the provider, model or deployment has its <c>max_concurrency</c> calls in flight cluster-wide.</summary>
    ConcurrencyLimit,
}
