using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Providers.Common;

/// <summary>Small wire pieces shared by the native adapters.</summary>
internal static class WireHelpers
{
    /// <summary>Splits a <c>data:</c> URI into media type and base64 payload; null for anything else (a URL).</summary>
    public static (string MediaType, string Base64)? DataUri(string? url)
    {
        if (url is null || !url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma > 0 ? url[5..comma] : string.Empty;
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var media = header[..^";base64".Length];
        return (media.Length == 0 ? "application/octet-stream" : media, url[(comma + 1)..]);
    }

    /// <summary>Writes a JSON text (a schema or tool arguments) as a value, or <paramref name="fallback"/> when it is not JSON.</summary>
    public static void WriteRawOr(Utf8JsonWriter w, string? json, string fallback)
    {
        ArgumentNullException.ThrowIfNull(w);
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? fallback : json);
            doc.RootElement.WriteTo(w);
        }
        catch (JsonException)
        {
            using var doc = JsonDocument.Parse(fallback);
            doc.RootElement.WriteTo(w);
        }
    }

    /// <summary>A JSON element (an object of tool arguments) as compact JSON object text.</summary>
    public static string CompactObject(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? JsonSerializer.Serialize(element) : "{}";

    /// <summary>The system text of a request: system and developer messages, joined.</summary>
    public static string? SystemText(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parts = request.Messages.Where(m => m.Role is "system" or "developer").Select(m => m.Text).Where(t => t.Length > 0).ToList();
        return parts.Count == 0 ? null : string.Join("\n\n", parts);
    }

    /// <summary>Writes the stop sequences under the API's own property name, when there are any.</summary>
    public static void WriteStop(Utf8JsonWriter w, string propertyName, IReadOnlyList<string>? stop)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (stop is not { Count: > 0 })
        {
            return;
        }

        w.WriteStartArray(propertyName);
        foreach (var s in stop)
        {
            w.WriteStringValue(s);
        }

        w.WriteEndArray();
    }

    /// <summary>A provider's API key from the environment variable its YAML names (null when it names none).</summary>
    public static string? ApiKey(ProviderDefinition provider, Func<string, string?>? environment)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return provider.ApiKeyEnv is { } env ? (environment ?? Environment.GetEnvironmentVariable)(env) : null;
    }
}
