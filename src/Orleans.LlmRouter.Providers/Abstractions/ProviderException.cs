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
/// Base of the typed provider error hierarchy. Carries provider, model, HTTP status, transience, retry-after and
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

    /// <summary>Builds the typed exception for a class.</summary>
    public static ProviderException Create(ProviderErrorClass errorClass, ProviderDefinition provider, ModelDefinition? model, int? status, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var p = provider.Id;
        var m = model?.ProviderModel;
        ProviderException ex = errorClass switch
        {
            ProviderErrorClass.Authentication => new ProviderAuthenticationException(p, m, status, message),
            ProviderErrorClass.Permission => new ProviderPermissionException(p, m, status, message),
            ProviderErrorClass.NotFound => new ProviderNotFoundException(p, m, status, message),
            ProviderErrorClass.BadRequest => new ProviderBadRequestException(p, m, status, message),
            ProviderErrorClass.ContextLengthExceeded => new ContextLengthExceededException(p, m, status, message),
            ProviderErrorClass.ContentPolicy => new ContentPolicyException(p, m, status, message),
            ProviderErrorClass.RateLimited => new ProviderRateLimitedException(p, m, status, message) { RetryAfter = retryAfter },
            ProviderErrorClass.Overloaded => new ProviderOverloadedException(p, m, status, message) { RetryAfter = retryAfter },
            ProviderErrorClass.Server => new ProviderServerException(p, m, status, message) { RetryAfter = retryAfter },
            ProviderErrorClass.Timeout => new ProviderTimeoutException(p, m, message, inner),
            ProviderErrorClass.Connection => new ProviderConnectionException(p, m, message, inner),
            ProviderErrorClass.StructuredOutput => new StructuredOutputException(p, m, message),
            _ => new ProviderException(errorClass, p, m, status, message, inner),
        };
        return ex;
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

#pragma warning disable CA1032 // These exceptions are always built with their provider fields.
internal sealed class ProviderAuthenticationException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.Authentication, provider, model, status, message);

internal sealed class ProviderPermissionException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.Permission, provider, model, status, message);

internal sealed class ProviderNotFoundException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.NotFound, provider, model, status, message);

internal sealed class ProviderBadRequestException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.BadRequest, provider, model, status, message);

internal sealed class ContextLengthExceededException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.ContextLengthExceeded, provider, model, status, message);

internal sealed class ContentPolicyException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.ContentPolicy, provider, model, status, message);

internal sealed class ProviderRateLimitedException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.RateLimited, provider, model, status, message);

internal sealed class ProviderOverloadedException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.Overloaded, provider, model, status, message);

internal sealed class ProviderServerException(string provider, string? model, int? status, string message)
    : ProviderException(ProviderErrorClass.Server, provider, model, status, message);

internal sealed class ProviderTimeoutException(string provider, string? model, string message, Exception? inner)
    : ProviderException(ProviderErrorClass.Timeout, provider, model, null, message, inner);

internal sealed class ProviderConnectionException(string provider, string? model, string message, Exception? inner)
    : ProviderException(ProviderErrorClass.Connection, provider, model, null, message, inner);

/// <summary>The model's output did not satisfy the requested JSON format or schema.</summary>
internal sealed class StructuredOutputException(string provider, string? model, string message)
    : ProviderException(ProviderErrorClass.StructuredOutput, provider, model, null, message);
#pragma warning restore CA1032
