using System.Globalization;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>
/// Maps Google's error body <c>{"error":{"code","message","status","details"}}</c> to the typed provider errors. The
/// canonical <c>status</c> decides (with the HTTP status as fallback); an invalid key, which Gemini answers with 400
/// INVALID_ARGUMENT, is an authentication error; the retry delay comes from <c>retry-after(-ms)</c> or else from
/// <c>google.rpc.RetryInfo.retryDelay</c> in the details.
/// </summary>
internal static class GeminiErrors
{
    public static ProviderException FromResponse(HttpResponseMessage response, string body, ProviderDefinition provider, ModelDefinition? model, Func<string, string> redact)
    {
        var status = (int)response.StatusCode;
        var (message, rpcStatus, details) = ParseBody(body);
        var errorClass = Classify(status, rpcStatus, message, details);
        var retryAfter = HttpErrors.RetryAfter(response.Headers, TimeProvider.System) ?? RetryDelay(details);
        var text = redact(message ?? response.ReasonPhrase ?? $"HTTP {status}");
        return ProviderException.Create(errorClass, provider, model, status, text, retryAfter);
    }

    /// <summary>An error object that arrived inside a 200 stream (<c>data: {"error":{...}}</c>).</summary>
    public static ProviderException FromStreamError(JsonElement error, ProviderDefinition provider, ModelDefinition? model, Func<string, string> redact)
    {
        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var rpcStatus = error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        var code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 500;
        var details = error.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Array ? d.Clone() : default;
        var errorClass = Classify(code, rpcStatus, message, details);
        return ProviderException.Create(errorClass, provider, model, null, redact(message ?? "error in stream"), RetryDelay(details));
    }

    /// <summary>The error class of a Google API error.</summary>
    public static ProviderErrorClass Classify(int status, string? rpcStatus, string? message, JsonElement details)
    {
        var text = (message ?? string.Empty).ToLowerInvariant();
        if (HasReason(details, "API_KEY_INVALID") || text.Contains("api key not valid", StringComparison.Ordinal)
            || text.Contains("api key expired", StringComparison.Ordinal) || text.Contains("unregistered callers", StringComparison.Ordinal))
        {
            return ProviderErrorClass.Authentication; // 400 for a bad key, 403 for a missing one
        }

        if (text.Contains("exceeds the maximum number of tokens", StringComparison.Ordinal)
            || (text.Contains("input token count", StringComparison.Ordinal) && text.Contains("exceeds", StringComparison.Ordinal)))
        {
            return ProviderErrorClass.ContextLengthExceeded;
        }

        return rpcStatus switch
        {
            "INVALID_ARGUMENT" or "OUT_OF_RANGE" => ProviderErrorClass.BadRequest,
            "FAILED_PRECONDITION" => ProviderErrorClass.Permission, // the account's state (billing, free tier region), not the request
            "UNAUTHENTICATED" => ProviderErrorClass.Authentication,
            "PERMISSION_DENIED" => ProviderErrorClass.Permission,
            "NOT_FOUND" => ProviderErrorClass.NotFound,
            "RESOURCE_EXHAUSTED" => ProviderErrorClass.RateLimited, // Gemini's per-minute limits also say "quota": all transient
            "UNAVAILABLE" => ProviderErrorClass.Overloaded,
            "DEADLINE_EXCEEDED" => ProviderErrorClass.Timeout,
            "INTERNAL" or "UNKNOWN" or "ABORTED" or "CANCELLED" or "DATA_LOSS" => ProviderErrorClass.Server,
            _ => status switch
            {
                401 => ProviderErrorClass.Authentication,
                403 => ProviderErrorClass.Permission,
                404 => ProviderErrorClass.NotFound,
                408 or 504 => ProviderErrorClass.Timeout,
                429 => ProviderErrorClass.RateLimited,
                503 => ProviderErrorClass.Overloaded,
                409 or >= 500 => ProviderErrorClass.Server,
                _ => ProviderErrorClass.BadRequest,
            },
        };
    }

    /// <summary><c>google.rpc.RetryInfo.retryDelay</c>, a protobuf duration such as <c>"12s"</c> or <c>"0.5s"</c>.</summary>
    public static TimeSpan? RetryDelay(JsonElement details)
    {
        if (details.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var detail in details.EnumerateArray())
        {
            if (detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty("retryDelay", out var delay) && delay.ValueKind == JsonValueKind.String
                && delay.GetString() is { Length: > 1 } d && d.EndsWith('s')
                && double.TryParse(d.AsSpan(0, d.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }

        return null;
    }

    private static bool HasReason(JsonElement details, string reason) =>
        details.ValueKind == JsonValueKind.Array && details.EnumerateArray().Any(d =>
            d.ValueKind == JsonValueKind.Object && d.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() == reason);

    private static (string? Message, string? RpcStatus, JsonElement Details) ParseBody(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null, default);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            // Tolerate the array form ([{"error":{...}}]) that streamGenerateContent answers without alt=sse.
            var root = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                var status = error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                var details = error.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Array ? d.Clone() : default;
                return (message, status, details);
            }
        }
        catch (JsonException)
        {
        }

        return (body.Length > 300 ? body[..300] : body, null, default);
    }
}
