using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Http;

namespace Orleans.LlmRouter.Providers.Ollama;

/// <summary>
/// Ollama's errors (<c>{"error":"message"}</c>, as an HTTP error body or as an NDJSON line after a 200) turned into the
/// typed provider errors. The status decides the class through <see cref="HttpErrors.Classify"/>, except that
/// Ollama's context-length messages ("the input length exceeds the context length") are recognised first. The API
/// key, if a proxy echoes it, is redacted from the message.
/// </summary>
internal static class OllamaErrors
{
    private const int BodyExcerpt = 300;

    public static ProviderException FromResponse(HttpResponseMessage response, string body, ProviderDefinition provider, ModelDefinition? model, string? apiKey)
    {
        var status = (int)response.StatusCode;
        var message = Redact(Message(body) ?? response.ReasonPhrase ?? $"HTTP {status}", apiKey);
        return ProviderException.Create(Classify(status, message), provider, model, status, message, HttpErrors.RetryAfter(response.Headers, TimeProvider.System));
    }

    /// <summary>An <c>{"error":…}</c> object that arrived under HTTP 200 (mid-stream): a server failure unless it names the context length.</summary>
    public static ProviderException FromStreamError(JsonElement error, ProviderDefinition provider, ModelDefinition? model, string? apiKey)
    {
        var message = Redact(ErrorText(error) ?? "error in stream", apiKey);
        return ProviderException.Create(Classify(500, message), provider, model, null, message);
    }

    public static ProviderErrorClass Classify(int status, string? message) =>
        IsContextLength(message) ? ProviderErrorClass.ContextLengthExceeded : HttpErrors.Classify(status, null, null, message);

    public static string Redact(string message, string? apiKey) =>
        apiKey is { Length: > 0 } && message.Contains(apiKey, StringComparison.Ordinal) ? message.Replace(apiKey, "[redacted]", StringComparison.Ordinal) : message;

    private static bool IsContextLength(string? message) =>
        message is not null
        && (message.Contains("context length", StringComparison.OrdinalIgnoreCase)
            || message.Contains("context window", StringComparison.OrdinalIgnoreCase)
            || message.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase)
            || message.Contains("input is too long", StringComparison.OrdinalIgnoreCase));

    private static string? Message(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error) && ErrorText(error) is { } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > BodyExcerpt ? body[..BodyExcerpt] : body; // a proxy's HTML or plain-text page
    }

    private static string? ErrorText(JsonElement error) => error.ValueKind switch
    {
        JsonValueKind.String => error.GetString(),
        JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString(),
        _ => null,
    };
}
