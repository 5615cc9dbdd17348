using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// The cache key of a chat request: a SHA-256 over a canonical encoding of everything that determines its answer — the
/// resolved route, whether it streams, the messages (roles, names, tool calls and results, every content part), the
/// tools and tool choice, the response format, temperature, top_p, seed, max tokens, stop sequences and reasoning
/// settings. What does not change the answer is left out: the end user, metadata and prompt-cache breakpoints
/// (<c>cache_control</c>). Fields are written in a fixed order with explicit nulls, so two requests share a key exactly
/// when they agree on all of them.
/// </summary>
internal static class RequestFingerprint
{
    /// <summary>
    /// The key of <paramref name="request"/> as 64 lowercase hex digits, for its resolved <paramref name="route"/>
    /// (<c>model:&lt;name&gt;</c> after alias resolution, or <c>action:&lt;name&gt;/&lt;strategy&gt;</c>), streamed or
    /// not (<paramref name="stream"/>: stored streams and stored completions are kept apart).
    /// </summary>
    public static string Of(ChatRequest request, string route, bool stream)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStringValue("v1");
            w.WriteStringValue(route);
            w.WriteBooleanValue(stream);
            w.WriteStartArray();
            foreach (var m in request.Messages)
            {
                WriteMessage(w, m);
            }

            w.WriteEndArray();
            w.WriteStartArray();
            foreach (var t in request.Tools ?? [])
            {
                w.WriteStartArray();
                w.WriteStringValue(t.Name);
                w.WriteStringValue(t.Description);
                w.WriteStringValue(t.ParametersJson);
                w.WriteBooleanValue(t.Strict);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteStringValue(request.ToolChoice);
            if (request.ResponseFormat is { } f)
            {
                w.WriteStartArray();
                w.WriteNumberValue((int)f.Kind);
                w.WriteStringValue(f.SchemaName);
                w.WriteStringValue(f.SchemaJson);
                w.WriteBooleanValue(f.Strict);
                w.WriteEndArray();
            }
            else
            {
                w.WriteNullValue();
            }

            Number(w, request.Temperature);
            Number(w, request.TopP);
            Number(w, request.Seed);
            Number(w, request.MaxOutputTokens);
            w.WriteStartArray();
            foreach (var s in request.Stop ?? [])
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
            w.WriteStringValue(request.ReasoningEffort);
            Number(w, request.ThinkingBudgetTokens);
            w.WriteEndArray();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static void WriteMessage(Utf8JsonWriter w, RouterMessage m)
    {
        w.WriteStartArray();
        w.WriteStringValue(m.Role);
        w.WriteStringValue(m.Name);
        w.WriteStringValue(m.ToolCallId);
        w.WriteStartArray();
        foreach (var call in m.ToolCalls ?? [])
        {
            w.WriteStringValue(call.Id);
            w.WriteStringValue(call.Name);
            w.WriteStringValue(call.ArgumentsJson);
        }

        w.WriteEndArray();
        w.WriteStartArray();
        foreach (var p in m.Content)
        {
            w.WriteStartArray();
            w.WriteNumberValue((int)p.Kind);
            w.WriteStringValue(p.Text);
            w.WriteStringValue(p.ImageUrl);
            w.WriteStringValue(p.ImageDetail);
            w.WriteStringValue(p.MediaType);
            w.WriteStringValue(p.Data);
            w.WriteStringValue(p.Url);
            w.WriteStringValue(p.Title);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter w, double? value)
    {
        if (value is { } v)
        {
            // Round-trip text, so 0.7 and 0.70000000000000007 differ exactly when the provider would see them differ.
            w.WriteStringValue(v.ToString("R", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void Number(Utf8JsonWriter w, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumberValue(v);
        }
        else
        {
            w.WriteNullValue();
        }
    }
}
