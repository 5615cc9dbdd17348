using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Providers.Http;

/// <summary>
/// Turns HTTP failures into the typed provider errors: status and body decide the class (context length and content
/// policy detected from codes and messages), <c>retry-after-ms</c> / <c>retry-after</c> (seconds or HTTP-date) give the
/// delay, <c>x-should-retry</c> overrides transience. Messages are the provider's own; headers and keys are never copied.
/// </summary>
internal static class HttpErrors
{
    public static ProviderException FromResponse(HttpResponseMessage response, string body, ProviderDefinition provider, ModelDefinition? model, TimeProvider? time = null, string? secret = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        var (message, code, type) = ParseBody(body);
        message = Scrub(message, secret);
        var status = (int)response.StatusCode;
        var errorClass = Classify(status, code, type, message);
        var ex = ProviderException.Create(errorClass, provider, model, status, message ?? response.ReasonPhrase ?? $"HTTP {status}", RetryAfter(response.Headers, time ?? TimeProvider.System));
        if (response.Headers.TryGetValues("x-should-retry", out var values) && bool.TryParse(values.FirstOrDefault(), out var retry))
        {
            ex.ShouldRetryOverride = retry;
        }

        return ex;
    }

    /// <summary>An error object that arrived inside a 200 stream (<c>{"error":{...}}</c>).</summary>
    public static ProviderException FromStreamError(JsonElement error, ProviderDefinition provider, ModelDefinition? model, string? secret = null)
    {
        var message = Scrub(error.TryGetProperty("message", out var m) ? m.GetString() : null, secret);
        var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        var type = error.TryGetProperty("type", out var t) ? t.GetString() : null;
        var errorClass = Classify(type is "invalid_request_error" ? 400 : 500, code, type, message);
        return ProviderException.Create(errorClass, provider, model, null, message ?? "error in stream");
    }

    /// <summary>
    /// Removes <paramref name="secret"/> (the provider's API key) from text an upstream sent back: some upstreams and
    /// proxies echo the key in authentication errors, and provider messages reach logs and callers.
    /// </summary>
    public static string? Scrub(string? text, string? secret)
    {
        if (string.IsNullOrEmpty(text) || string.IsNullOrEmpty(secret) || secret.Length < 4)
        {
            return text;
        }

        return text.Replace(secret, "[redacted]", StringComparison.Ordinal);
    }

    public static ProviderErrorClass Classify(int status, string? code, string? type, string? message)
    {
        var text = (message ?? string.Empty).ToLowerInvariant();
        if (code == "context_length_exceeded" || text.Contains("maximum context length", StringComparison.Ordinal) || text.Contains("prompt is too long", StringComparison.Ordinal)
            || text.Contains("exceeds the maximum number of tokens", StringComparison.Ordinal))
        {
            return ProviderErrorClass.ContextLengthExceeded;
        }

        if (code is "content_policy_violation" or "content_filter" || type == "content_policy")
        {
            return ProviderErrorClass.ContentPolicy;
        }

        if (text.Contains("api key not valid", StringComparison.Ordinal) || type is "UNAUTHENTICATED" or "authentication_error")
        {
            return ProviderErrorClass.Authentication; // Gemini answers an invalid key with 400 INVALID_ARGUMENT
        }

        return status switch
        {
            401 => ProviderErrorClass.Authentication,
            402 => ProviderErrorClass.Permission,
            403 => ProviderErrorClass.Permission,
            404 => ProviderErrorClass.NotFound,
            408 => ProviderErrorClass.Timeout,
            409 => ProviderErrorClass.Server,
            413 or 422 or 400 => ProviderErrorClass.BadRequest,
            // Spend/balance quota is final; Gemini's RESOURCE_EXHAUSTED speaks of quota for plain rate limits too.
            429 when type != "RESOURCE_EXHAUSTED" && (code is "insufficient_quota" || text.Contains("quota", StringComparison.Ordinal)) => ProviderErrorClass.Permission,
            429 => ProviderErrorClass.RateLimited,
            503 or 529 => ProviderErrorClass.Overloaded,
            504 => ProviderErrorClass.Timeout,
            >= 500 => ProviderErrorClass.Server,
            _ => ProviderErrorClass.BadRequest,
        };
    }

    /// <summary>The delay a provider asked for: <c>retry-after-ms</c>, else <c>retry-after</c> as seconds or an HTTP-date.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(time);
        if (headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        if (headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta)
            {
                return delta;
            }

            if (ra.Date is { } date)
            {
                var wait = date - time.GetUtcNow();
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        return null;
    }

    private static (string? Message, string? Code, string? Type) ParseBody(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (error.GetString(), null, null); // Ollama: {"error":"..."}
                }

                var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
                var code = error.TryGetProperty("code", out var c) ? (c.ValueKind == JsonValueKind.String ? c.GetString() : c.ToString()) : null;
                var type = error.TryGetProperty("type", out var t) ? t.GetString() : error.TryGetProperty("status", out var st) ? st.GetString() : null;
                return (message, code, type);
            }
        }
        catch (JsonException)
        {
        }

        return (body.Length > 300 ? body[..300] : body, null, null);
    }
}
