using System.Buffers;
using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Orleans.LlmRouter.Providers.Common;
using Orleans.LlmRouter.Providers.OpenAi;

namespace Orleans.LlmRouter.Providers.Anthropic;

/// <summary>
/// The Anthropic Messages wire format: system text top-level, turns alternating user/assistant (consecutive turns of
/// one role merged, tool results as a user turn of <c>tool_result</c> blocks), <c>max_tokens</c> always sent (the
/// caller's, else the model's maximum), structured output through <c>output_config.format</c>, images and PDF
/// documents as <c>image</c> and <c>document</c> blocks (base64 or URL sources, with title and <c>cache_control</c>).
/// </summary>
internal static class AnthropicWire
{
    public const string Version = "2023-06-01";

    public static byte[] MessagesRequest(ChatRequest request, ModelDefinition model, ProviderDefinition provider, bool stream)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(model);
        if (request.Temperature is > 1.0)
        {
            throw ProviderException.Create(ProviderErrorClass.BadRequest, provider, model, null, $"temperature {request.Temperature} is over Anthropic's maximum of 1");
        }

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", model.ProviderModel);
            var maxTokens = request.MaxOutputTokens is { } max ? Math.Min(max, model.MaxOutputTokens) : model.MaxOutputTokens;
            w.WriteNumber("max_tokens", maxTokens);

            // Extended thinking for models with the reasoning capability: at least 1,024 tokens and below max_tokens;
            // Anthropic refuses temperature and top_p beside it.
            var thinking = model.Has(Capability.Reasoning) && Common.ReasoningMapping.BudgetOf(request) is { } budget && maxTokens > 1024
                ? Math.Clamp(budget, 1024, maxTokens - 1)
                : (int?)null;
            if (thinking is { } budgetTokens)
            {
                w.WriteStartObject("thinking");
                w.WriteString("type", "enabled");
                w.WriteNumber("budget_tokens", budgetTokens);
                w.WriteEndObject();
            }

            WriteSystem(w, request);

            w.WriteStartArray("messages");
            WriteTurns(w, request.Messages.Where(m => m.Role is not ("system" or "developer")).ToList());
            w.WriteEndArray();
            if (request.Temperature is { } t && thinking is null)
            {
                w.WriteNumber("temperature", t);
            }

            if (request.TopP is { } p && thinking is null)
            {
                w.WriteNumber("top_p", p);
            }

            WireHelpers.WriteStop(w, "stop_sequences", request.Stop);

            WriteTools(w, request);
            if (request.ResponseFormat is { Kind: not ResponseFormatKind.Text } format)
            {
                w.WriteStartObject("output_config");
                w.WriteStartObject("format");
                w.WriteString("type", "json_schema");
                w.WritePropertyName("schema");
                WireHelpers.WriteRawOr(w, format.Kind == ResponseFormatKind.JsonSchema ? format.SchemaJson : null, """{"type":"object"}""");
                w.WriteEndObject();
                w.WriteEndObject();
            }

            if (request.User is { } user)
            {
                w.WriteStartObject("metadata");
                w.WriteString("user_id", user);
                w.WriteEndObject();
            }

            if (stream)
            {
                w.WriteBoolean("stream", true);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Usage: prompt = <c>input_tokens</c> + <c>cache_creation_input_tokens</c> + <c>cache_read_input_tokens</c>;
    /// cached = the cache reads; cache writes = the creation tokens (the sum of <c>cache_creation</c>'s
    /// <c>ephemeral_5m_input_tokens</c> and <c>ephemeral_1h_input_tokens</c> when the total is absent), of which the
    /// one-hour part is <c>ephemeral_1h_input_tokens</c>; completion = <c>output_tokens</c> (thinking included: Anthropic
    /// reports no split). In a stream <paramref name="previous"/> is the usage so far: message_start gives the prompt
    /// counts, message_delta the cumulative output and possibly the prompt counts again; every count a delta omits
    /// (or sends as null) keeps its previous value.
    /// </summary>
    public static TokenUsage Usage(JsonElement usage, TokenUsage? previous = null)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return previous ?? TokenUsage.Zero;
        }

        var prev = previous ?? TokenUsage.Zero;
        var creation = usage.TryGetProperty("cache_creation", out var cc) && cc.ValueKind == JsonValueKind.Object ? cc : default;
        var hasSplit = UsageCounts.Has(creation, "ephemeral_5m_input_tokens") || UsageCounts.Has(creation, "ephemeral_1h_input_tokens");
        var split5m = UsageCounts.Read(creation, "ephemeral_5m_input_tokens");
        var split1h = UsageCounts.Read(creation, "ephemeral_1h_input_tokens");
        var cacheRead = UsageCounts.Read(usage, "cache_read_input_tokens", prev.CachedTokens);
        var cacheWrite = UsageCounts.Read(usage, "cache_creation_input_tokens", hasSplit ? split5m + split1h : prev.CacheWriteTokens);
        var cacheWrite1h = hasSplit ? split1h : prev.CacheWrite1hTokens;
        var input = UsageCounts.Read(usage, "input_tokens", prev.PromptTokens - prev.CachedTokens - prev.CacheWriteTokens);
        return UsageCounts.Consistent(input + cacheWrite + cacheRead, UsageCounts.Read(usage, "output_tokens", prev.CompletionTokens), cacheRead, 0, cacheWrite, cacheWrite1h);
    }

    public static string FinishReason(string? stopReason, bool hasToolCalls) => stopReason switch
    {
        "tool_use" => "tool_calls",
        "max_tokens" or "model_context_window_exceeded" => "length",
        "refusal" => "content_filter",
        _ when hasToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <summary>HTTP status equivalent of an error type carried in a stream's <c>error</c> event.</summary>
    public static int StatusOf(string? errorType) => errorType switch
    {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    };

    private static void WriteTurns(Utf8JsonWriter w, List<RouterMessage> messages)
    {
        string? open = null;
        foreach (var m in messages)
        {
            var role = m.Role == "assistant" ? "assistant" : "user"; // tool results travel in a user turn
            if (role != open)
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

            WriteBlocks(w, m);
        }

        if (open is not null)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void WriteBlocks(Utf8JsonWriter w, RouterMessage m)
    {
        if (m.Role == "tool")
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_result");
            w.WriteString("tool_use_id", m.ToolCallId ?? string.Empty);
            w.WriteString("content", m.Text);
            WriteCacheControl(w, m.Content.LastOrDefault(p => p.CacheControlJson is not null)?.CacheControlJson);
            w.WriteEndObject();
            return;
        }

        foreach (var part in m.Content)
        {
            if (part.Kind == ContentPartKind.Text)
            {
                if (!string.IsNullOrEmpty(part.Text))
                {
                    w.WriteStartObject();
                    w.WriteString("type", "text");
                    w.WriteString("text", part.Text);
                    WriteCacheControl(w, part.CacheControlJson);
                    w.WriteEndObject();
                }

                continue;
            }

            if (part.Kind == ContentPartKind.Document)
            {
                WriteDocument(w, part);
                continue;
            }

            w.WriteStartObject();
            w.WriteString("type", "image");
            w.WriteStartObject("source");
            if (WireHelpers.DataUri(part.ImageUrl) is { } data)
            {
                w.WriteString("type", "base64");
                w.WriteString("media_type", data.MediaType);
                w.WriteString("data", data.Base64);
            }
            else
            {
                w.WriteString("type", "url");
                w.WriteString("url", part.ImageUrl);
            }

            w.WriteEndObject();
            WriteCacheControl(w, part.CacheControlJson);
            w.WriteEndObject();
        }

        foreach (var call in m.ToolCalls ?? [])
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_use");
            w.WriteString("id", call.Id);
            w.WriteString("name", call.Name);
            w.WritePropertyName("input");
            WireHelpers.WriteRawOr(w, OpenAiWire.NormalizeArguments(call.ArgumentsJson), "{}");
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// A PDF as Anthropic's <c>document</c> block: <c>source</c> <c>{"type":"base64","media_type","data"}</c> or
    /// <c>{"type":"url","url"}</c>, then <c>title</c> and <c>cache_control</c> when the part has them.
    /// </summary>
    private static void WriteDocument(Utf8JsonWriter w, ContentPart part)
    {
        w.WriteStartObject();
        w.WriteString("type", "document");
        w.WriteStartObject("source");
        if (part.Data is { } data)
        {
            w.WriteString("type", "base64");
            w.WriteString("media_type", part.MediaType ?? "application/pdf");
            w.WriteString("data", data);
        }
        else
        {
            w.WriteString("type", "url");
            w.WriteString("url", part.Url);
        }

        w.WriteEndObject();
        if (part.Title is { } title)
        {
            w.WriteString("title", title);
        }

        WriteCacheControl(w, part.CacheControlJson);
        w.WriteEndObject();
    }

    /// <summary>
    /// <c>system</c> as one string, or, when a system part carries a prompt-cache breakpoint, as text blocks with
    /// their <c>cache_control</c> (Anthropic caches the prefix up to each breakpoint).
    /// </summary>
    private static void WriteSystem(Utf8JsonWriter w, ChatRequest request)
    {
        var system = request.Messages.Where(m => m.Role is "system" or "developer").ToList();
        if (!system.Any(m => m.Content.Any(p => p.CacheControlJson is not null)))
        {
            if (WireHelpers.SystemText(request) is { } text)
            {
                w.WriteString("system", text);
            }

            return;
        }

        w.WriteStartArray("system");
        foreach (var part in system.SelectMany(m => m.Content).Where(p => p.Kind == ContentPartKind.Text && !string.IsNullOrEmpty(p.Text)))
        {
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", part.Text);
            WriteCacheControl(w, part.CacheControlJson);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteCacheControl(Utf8JsonWriter w, string? cacheControlJson)
    {
        if (cacheControlJson is not null)
        {
            w.WritePropertyName("cache_control");
            WireHelpers.WriteRawOr(w, cacheControlJson, """{"type":"ephemeral"}""");
        }
    }

    private static void WriteTools(Utf8JsonWriter w, ChatRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        w.WriteStartArray("tools");
        foreach (var tool in tools)
        {
            w.WriteStartObject();
            w.WriteString("name", tool.Name);
            if (tool.Description is { } d)
            {
                w.WriteString("description", d);
            }

            w.WritePropertyName("input_schema");
            WireHelpers.WriteRawOr(w, tool.ParametersJson, """{"type":"object","properties":{}}""");
            WriteCacheControl(w, tool.CacheControlJson);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (request.ToolChoice is { } choice)
        {
            w.WriteStartObject("tool_choice");
            switch (choice)
            {
                case "auto" or "none":
                    w.WriteString("type", choice);
                    break;
                case "required":
                    w.WriteString("type", "any");
                    break;
                default:
                    w.WriteString("type", "tool");
                    w.WriteString("name", choice);
                    break;
            }

            w.WriteEndObject();
        }
    }
}
