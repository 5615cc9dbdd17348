namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// What went wrong with a call, independent of any wire format: every surface classifies an exception once
/// (<see cref="SurfaceFailure.Classify"/>) and writes the kind in its own error shape.
/// </summary>
internal enum FailureKind
{
    /// <summary>The body or a header does not fit the surface's shape, or the request cannot be routed as asked (400).</summary>
    InvalidRequest,

    /// <summary>The model, action or stored object does not exist (404).</summary>
    NotFound,

    /// <summary>The body is larger than the gateway accepts (413).</summary>
    TooLarge,

    /// <summary>No usable tenant key (401).</summary>
    Unauthorized,

    /// <summary>A budget of the tenant would be exceeded (402, invariant B5).</summary>
    BudgetExceeded,

    /// <summary>The tenant's own rpm/tpm limit (429 with Retry-After).</summary>
    RateLimited,

    /// <summary>Every candidate was refused for capacity — a limit of ours (rpm, tpm, max_concurrency) or rate-limited or overloaded upstream: retrying later helps (OpenAI 503, Anthropic 529, with Retry-After).</summary>
    Overloaded,

    /// <summary>Every candidate failed for other reasons (502).</summary>
    UpstreamFailed,

    /// <summary>A node of the cluster was lost or unreachable during the call (503 with Retry-After, invariant L3).</summary>
    ClusterUnavailable,
}
