using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Abstractions;

/// <summary>
/// A provider failure, told apart by its <see cref="ErrorClass"/> (one enum from the adapter to the HTTP answer). Carries provider, model, HTTP status, transience, retry-after and
/// the provider's own message. Never contains an API key.
/// </summary>
public class ProviderException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ProviderException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ProviderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a failed call; its message names the provider, model, class, HTTP status and the provider's message.</summary>
    public ProviderException(ProviderErrorClass errorClass, string provider, string? model, int? statusCode, string providerMessage, Exception? inner = null)
        : base($"{provider}/{model ?? "-"}: {errorClass}{(statusCode is { } s ? $" (HTTP {s})" : string.Empty)}: {providerMessage}", inner)
    {
        ErrorClass = errorClass;
        Provider = provider;
        Model = model;
        StatusCode = statusCode;
        ProviderMessage = providerMessage;
    }

    /// <summary>The normalised class of the failure.</summary>
    public ProviderErrorClass ErrorClass { get; }

    /// <summary>The id of the provider called.</summary>
    public string Provider { get; } = string.Empty;

    /// <summary>The provider's name of the model called; null when the failure concerns no model.</summary>
    public string? Model { get; }

    /// <summary>The upstream HTTP status; null when no HTTP answer came (connection, timeout) or the failure came mid-stream.</summary>
    public int? StatusCode { get; }

    /// <summary>The provider's own error message (never an API key).</summary>
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

    /// <summary>Builds the exception for a class: one type, told apart by <see cref="ErrorClass"/> (as YARP's <c>ForwarderError</c>).</summary>
    public static ProviderException Create(ProviderErrorClass errorClass, ProviderDefinition provider, ModelDefinition? model, int? status, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var p = provider.Id;
        var m = model?.ProviderModel;
        return new ProviderException(errorClass, provider.Id, model?.ProviderModel, status, message, inner) { RetryAfter = retryAfter };
    }
}
