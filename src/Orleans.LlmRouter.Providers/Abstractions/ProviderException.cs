using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>Normalised classes of provider failure.</summary>
public enum ProviderErrorClass
{
    Authentication,
    Permission,
    NotFound,
    BadRequest,
    ContextLengthExceeded,
    ContentPolicy,
    RateLimited,
    Overloaded,
    Server,
    Timeout,
    Connection,
    StructuredOutput,
    Cancelled,

    /// <summary>The gateway did not send the request: breaker open, paused, limits spent or disabled.</summary>
    Unavailable,

    /// <summary>
    /// The provider answered, but not in its documented shape: malformed or truncated JSON, a body missing its required
    /// fields, a stream that ended without its terminal event, or any other unexpected failure inside the adapter.
    /// Counts against the provider's breaker and falls back to the next candidate (not retried on the same model).
    /// </summary>
    UpstreamInvalidResponse,
}

/// <summary>
/// A provider failure, told apart by its <see cref="ErrorClass"/> (one enum from the adapter to the HTTP answer). Carries provider, model, HTTP status, transience, retry-after and
/// the provider's own message. Never contains an API key.
/// </summary>
public class ProviderException : Exception
{
    public ProviderException()
    {
    }

    public ProviderException(string message)
        : base(message)
    {
    }

    public ProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ProviderException(ProviderErrorClass errorClass, string provider, string? model, int? statusCode, string providerMessage, Exception? inner = null)
        : base($"{provider}/{model ?? "-"}: {errorClass}{(statusCode is { } s ? $" (HTTP {s})" : string.Empty)}: {providerMessage}", inner)
    {
        ErrorClass = errorClass;
        Provider = provider;
        Model = model;
        StatusCode = statusCode;
        ProviderMessage = providerMessage;
    }

    public ProviderErrorClass ErrorClass { get; }

    public string Provider { get; } = string.Empty;

    public string? Model { get; }

    public int? StatusCode { get; }

    public string ProviderMessage { get; } = string.Empty;

    /// <summary>Delay the provider asked for (Retry-After, retry-after-ms), when given.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>An explicit retry verdict from the provider (<c>x-should-retry</c>), overriding the class default.</summary>
    public bool? ShouldRetryOverride { get; set; }

    /// <summary>Whether retrying the same model may succeed.</summary>
    public bool IsTransient => ShouldRetryOverride ?? ErrorClass is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded
        or ProviderErrorClass.Server or ProviderErrorClass.Timeout or ProviderErrorClass.Connection;

    /// <summary>Whether the failure says something about the provider's health (for circuit breakers).</summary>
    public bool CountsAgainstProvider => ErrorClass is ProviderErrorClass.RateLimited or ProviderErrorClass.Overloaded
        or ProviderErrorClass.Server or ProviderErrorClass.Timeout or ProviderErrorClass.Connection
        or ProviderErrorClass.UpstreamInvalidResponse;

    /// <summary>snake_case name of the class, as written to the ledger and the API.</summary>
    public string ErrorClassName => ErrorClassNames.Of(ErrorClass);

    /// <summary>Builds the exception for a class: one type, told apart by <see cref="ErrorClass"/> (as YARP's <c>ForwarderError</c>).</summary>
    public static ProviderException Create(ProviderErrorClass errorClass, ProviderDefinition provider, ModelDefinition? model, int? status, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var p = provider.Id;
        var m = model?.ProviderModel;
        return new ProviderException(errorClass, provider.Id, model?.ProviderModel, status, message, inner) { RetryAfter = retryAfter };
    }
}

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
