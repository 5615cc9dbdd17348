using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// Bedrock's errors by their type (the <c>x-amzn-ErrorType</c> header or the body's <c>__type</c>; in a stream the
/// exception event's <c>:exception-type</c>): throttling and quota → rate_limited (429), model not ready and service
/// unavailable → overloaded, internal / model / stream errors → server, model timeout → timeout, validation →
/// bad_request (context_length_exceeded when the input is too long), access denied → permission, unrecognised or bad
/// signatures and expired tokens → authentication, resource not found → not_found. The message is Bedrock's own.
/// </summary>
internal static class BedrockErrors
{
    public static ProviderException FromResponse(HttpResponseMessage response, string body, ProviderDefinition provider, ModelDefinition? model, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(response);
        var (type, message) = Parse(body);
        if (response.Headers.TryGetValues("x-amzn-ErrorType", out var values) && values.FirstOrDefault() is { Length: > 0 } header)
        {
            type = header;
        }

        var status = (int)response.StatusCode;
        var name = Normalize(type);
        message ??= response.ReasonPhrase ?? $"HTTP {status}";
        var errorClass = Classify(name, status, message);
        return ProviderException.Create(errorClass, provider, model, status, name is null ? message : $"{name}: {message}", HttpErrors.RetryAfter(response.Headers, time ?? TimeProvider.System));
    }

    /// <summary>An <c>exception</c> message of a ConverseStream body.</summary>
    public static ProviderException FromStreamException(string? exceptionType, ReadOnlySpan<byte> payload, ProviderDefinition provider, ModelDefinition? model)
    {
        var (_, message) = Parse(System.Text.Encoding.UTF8.GetString(payload));
        var name = Normalize(exceptionType);
        message ??= "error in stream";
        var status = StatusOf(name);
        return ProviderException.Create(Classify(name, status, message), provider, model, null, name is null ? message : $"{name}: {message}");
    }

    /// <summary>The type's name without the namespace and with its first letter upper case (<c>throttlingException</c> → <c>ThrottlingException</c>).</summary>
    public static string? Normalize(string? type)
    {
        if (string.IsNullOrWhiteSpace(type))
        {
            return null;
        }

        var name = type.Split(':')[0];
        var hash = name.LastIndexOf('#');
        name = hash >= 0 ? name[(hash + 1)..] : name;
        return name.Length == 0 ? null : char.ToUpperInvariant(name[0]) + name[1..];
    }

    public static ProviderErrorClass Classify(string? name, int status, string message)
    {
        var text = message.ToLowerInvariant();
        return name switch
        {
            "ThrottlingException" or "ServiceQuotaExceededException" or "TooManyRequestsException" => ProviderErrorClass.RateLimited,
            "ModelNotReadyException" or "ServiceUnavailableException" => ProviderErrorClass.Overloaded,
            "InternalServerException" or "ModelErrorException" or "ModelStreamErrorException" or "InternalFailure" => ProviderErrorClass.Server,
            "ModelTimeoutException" => ProviderErrorClass.Timeout,
            "ValidationException" when text.Contains("too long", StringComparison.Ordinal) || text.Contains("context length", StringComparison.Ordinal)
                || text.Contains("maximum context", StringComparison.Ordinal) || text.Contains("too many input tokens", StringComparison.Ordinal) => ProviderErrorClass.ContextLengthExceeded,
            "ValidationException" or "SerializationException" => ProviderErrorClass.BadRequest,
            "AccessDeniedException" => ProviderErrorClass.Permission,
            "UnrecognizedClientException" or "InvalidSignatureException" or "IncompleteSignatureException" or "ExpiredTokenException"
                or "MissingAuthenticationTokenException" or "InvalidClientTokenId" or "SignatureDoesNotMatch" => ProviderErrorClass.Authentication,
            "ResourceNotFoundException" => ProviderErrorClass.NotFound,
            _ => HttpErrors.Classify(status, null, null, message),
        };
    }

    private static int StatusOf(string? name) => name switch
    {
        "ThrottlingException" => 429,
        "ValidationException" => 400,
        "ServiceUnavailableException" => 503,
        _ => 500,
    };

    private static (string? Type, string? Message) Parse(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var type = root.TryGetProperty("__type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()
                : root.TryGetProperty("Message", out var m2) && m2.ValueKind == JsonValueKind.String ? m2.GetString() : null;
            return (type, message);
        }
        catch (JsonException)
        {
            return (null, body.Length > 300 ? body[..300] : body);
        }
    }
}
