namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Names of error classes as they appear in the ledger and API (<c>rate_limited</c>).</summary>
internal static class ErrorClassNames
{
    public static string Of(ProviderErrorClass c) => c switch
    {
        ProviderErrorClass.Authentication => "authentication",
        ProviderErrorClass.Permission => "permission",
        ProviderErrorClass.NotFound => "not_found",
        ProviderErrorClass.BadRequest => "bad_request",
        ProviderErrorClass.ContextLengthExceeded => "context_length_exceeded",
        ProviderErrorClass.ContentPolicy => "content_policy",
        ProviderErrorClass.RateLimited => "rate_limited",
        ProviderErrorClass.Overloaded => "overloaded",
        ProviderErrorClass.Server => "server",
        ProviderErrorClass.Timeout => "timeout",
        ProviderErrorClass.Connection => "connection",
        ProviderErrorClass.StructuredOutput => "structured_output",
        ProviderErrorClass.Cancelled => "cancelled",
        ProviderErrorClass.Unavailable => "unavailable",
        ProviderErrorClass.UpstreamInvalidResponse => "upstream_invalid_response",
        _ => c.ToString(),
    };
}
