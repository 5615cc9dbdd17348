using System.Buffers;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Common;

namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>
/// The Bedrock Converse wire format (one for every model family: <c>anthropic.claude-…</c>, <c>meta.llama…</c>, …):
/// <c>system</c> as text blocks, <c>messages</c> alternating user/assistant with content blocks (<c>text</c>,
/// <c>image</c> with base64 <c>bytes</c>, <c>toolUse</c>, <c>toolResult</c> in a user turn), <c>inferenceConfig</c>
/// (<c>maxTokens</c>, <c>temperature</c>, <c>topP</c>, <c>stopSequences</c>), <c>toolConfig</c> (<c>toolSpec</c> with
/// <c>inputSchema.json</c>, <c>toolChoice</c> auto/any/tool).
/// </summary>
internal static class BedrockWire
{
    private static readonly HashSet<string> ImageFormats = new(StringComparer.Ordinal) { "png", "jpeg", "gif", "webp" };

    public static byte[] ConverseRequest(ChatRequest request, ModelDefinition model, ProviderDefinition provider)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (WireHelpers.SystemText(request) is { } system)
            {
                w.WriteStartArray("system");
                w.WriteStartObject();
                w.WriteString("text", system);
                w.WriteEndObject();
                w.WriteEndArray();
            }

            w.WriteStartArray("messages");
            WriteTurns(w, request.Messages.Where(m => m.Role is not ("system" or "developer")).ToList(), provider, model);
            w.WriteEndArray();
            w.WriteStartObject("inferenceConfig");
            w.WriteNumber("maxTokens", request.MaxOutputTokens is { } max ? Math.Min(max, model.MaxOutputTokens) : model.MaxOutputTokens);
            if (request.Temperature is { } t)
            {
                w.WriteNumber("temperature", t);
            }

            if (request.TopP is { } p)
            {
                w.WriteNumber("topP", p);
            }

            WireHelpers.WriteStop(w, "stopSequences", request.Stop);
            w.WriteEndObject();
            WriteTools(w, request);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Usage: prompt = <c>inputTokens</c> (the uncached part) + <c>cacheReadInputTokens</c> + <c>cacheWriteInputTokens</c>;
    /// cached = the cache reads, cache writes = the writes; completion = <c>outputTokens</c>.
    /// </summary>
    public static TokenUsage Usage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return TokenUsage.Zero;
        }

        var read = UsageCounts.Read(usage, "cacheReadInputTokens");
        var write = UsageCounts.Read(usage, "cacheWriteInputTokens");
        return UsageCounts.Consistent(UsageCounts.Read(usage, "inputTokens") + read + write, UsageCounts.Read(usage, "outputTokens"), read, 0, write);
    }

    /// <summary>end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls, guardrail/content filter → content_filter.</summary>
    public static string FinishReason(string? stopReason, bool hasToolCalls) => stopReason switch
    {
        "tool_use" => "tool_calls",
        "max_tokens" or "model_context_window_exceeded" => "length",
        "guardrail_intervened" or "content_filtered" => "content_filter",
        _ when hasToolCalls => "tool_calls",
        _ => "stop",
    };

    private static void WriteTurns(Utf8JsonWriter w, List<RouterMessage> messages, ProviderDefinition provider, ModelDefinition model)
    {
        string? open = null;
        foreach (var m in messages)
        {
            var role = m.Role == "assistant" ? "assistant" : "user"; // tool results travel in a user turn
            if (open != role)
            {
                if (open is not null)
                {
                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteStartObject();
                w.WriteString("role", role);
                w.WriteStartArray("content");
                open = role;
            }

            if (m.Role == "tool")
            {
                w.WriteStartObject();
                w.WriteStartObject("toolResult");
                w.WriteString("toolUseId", m.ToolCallId ?? string.Empty);
                w.WriteStartArray("content");
                w.WriteStartObject();
                w.WriteString("text", m.Text);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                continue;
            }

            foreach (var part in m.Content)
            {
                w.WriteStartObject();
                if (part.Kind == ContentPartKind.Text)
                {
                    w.WriteString("text", part.Text);
                }
                else if (part.Kind == ContentPartKind.Document)
                {
                    throw ProviderException.Create(ProviderErrorClass.BadRequest, provider, model, null, "PDF documents are not passed to Bedrock by this gateway; route them to a model with the documents capability");
                }
                else
                {
                    var data = WireHelpers.DataUri(part.ImageUrl);
                    var format = data is { } d && d.MediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) ? d.MediaType["image/".Length..].ToLowerInvariant() : null;
                    if (data is null || format is null || !ImageFormats.Contains(format))
                    {
                        throw ProviderException.Create(ProviderErrorClass.BadRequest, provider, model, null, "Bedrock takes images as base64 data URIs of png, jpeg, gif or webp, not URLs");
                    }

                    w.WriteStartObject("image");
                    w.WriteString("format", format);
                    w.WriteStartObject("source");
                    w.WriteString("bytes", data.Value.Base64);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            foreach (var call in m.ToolCalls ?? [])
            {
                w.WriteStartObject();
                w.WriteStartObject("toolUse");
                w.WriteString("toolUseId", call.Id);
                w.WriteString("name", call.Name);
                w.WritePropertyName("input");
                WireHelpers.WriteRawOr(w, call.ArgumentsJson, "{}");
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }

        if (open is not null)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void WriteTools(Utf8JsonWriter w, ChatRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools || request.ToolChoice == "none")
        {
            return; // Converse has no "none": the tools are left out
        }

        w.WriteStartObject("toolConfig");
        w.WriteStartArray("tools");
        foreach (var t in tools)
        {
            w.WriteStartObject();
            w.WriteStartObject("toolSpec");
            w.WriteString("name", t.Name);
            if (t.Description is { } d)
            {
                w.WriteString("description", d);
            }

            w.WriteStartObject("inputSchema");
            w.WritePropertyName("json");
            WireHelpers.WriteRawOr(w, t.ParametersJson, """{"type":"object"}""");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        switch (request.ToolChoice)
        {
            case null or "auto":
                break;
            case "required":
                w.WriteStartObject("toolChoice");
                w.WriteStartObject("any");
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            default:
                w.WriteStartObject("toolChoice");
                w.WriteStartObject("tool");
                w.WriteString("name", request.ToolChoice);
                w.WriteEndObject();
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
    }
}
