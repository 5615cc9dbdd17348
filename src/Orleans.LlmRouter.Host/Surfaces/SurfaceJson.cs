using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>JSON written straight with a <see cref="Utf8JsonWriter"/> (no reflection), as a body or as one SSE event.</summary>
internal static class SurfaceJson
{
    /// <summary>The JSON <paramref name="write"/> produces, as text.</summary>
    public static string Text<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w, state);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>One server-sent event whose data is the JSON <paramref name="write"/> produces; <paramref name="type"/> is its <c>event:</c> name.</summary>
    public static SseItem<string> Event<TState>(string? type, TState state, Action<Utf8JsonWriter, TState> write) =>
        new(Text(state, write), type);

    /// <summary>Writes a JSON body with <paramref name="status"/> unless the response has started.</summary>
    public static async Task WriteAsync<TState>(HttpContext http, int status, TState state, Action<Utf8JsonWriter, TState> write)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w, state);
        }

        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
    }

    /// <summary>A string property, or null when absent or null; any other kind is the caller's 400 naming <paramref name="path"/>.</summary>
    public static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new InvalidRequestException(path, $"'{path}' must be a string.");
    }

    /// <summary>A boolean property, or null when absent or null.</summary>
    public static bool? OptionalBool(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidRequestException(path, $"'{path}' must be a boolean."),
        };
    }

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>], or null when absent or null.</summary>
    public static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d < min || d > max)
        {
            throw new InvalidRequestException(name, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{name}' must be a number from {min} to {max}."));
        }

        return d;
    }

    /// <summary>An integer of at least <paramref name="min"/>, or null when absent or null.</summary>
    public static int? OptionalInt(JsonElement obj, string name, int min)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i) || i < min)
        {
            throw new InvalidRequestException(name, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{name}' must be an integer of at least {min}."));
        }

        return i;
    }

    /// <summary>Up to 16 string values (<c>metadata</c> on both OpenAI surfaces).</summary>
    public static Dictionary<string, string>? Metadata(JsonElement root)
    {
        if (!root.TryGetProperty("metadata", out var md) || md.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (md.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("metadata", "'metadata' must be an object of string values.");
        }

        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in md.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String || dict.Count >= 16)
            {
                throw new InvalidRequestException("metadata", "'metadata' holds at most 16 string values.");
            }

            dict[p.Name] = p.Value.GetString()!;
        }

        return dict;
    }
}
