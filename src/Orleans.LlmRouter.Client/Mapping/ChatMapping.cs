using System.Text.Json;
using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Contracts;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Orleans.LlmRouter.Client.Mapping;

/// <summary>Maps Microsoft.Extensions.AI chat types to the router's contracts and back.</summary>
internal static class ChatMapping
{
    /// <summary>The ChatOptions/AITool additional property that asks for strict JSON schema adherence (as other M.E.AI clients read it).</summary>
    public const string StrictJsonSchema = "strictJsonSchema";

    private static readonly JsonSerializerOptions Json = AIJsonUtilities.DefaultOptions;

    public static ChatRequest ToRequest(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var mapped = new List<RouterMessage>();
        if (!string.IsNullOrWhiteSpace(options?.Instructions))
        {
            mapped.Add(RouterMessage.FromText("system", options.Instructions));
        }

        foreach (var message in messages)
        {
            AddMessage(mapped, message);
        }

        var strict = IsStrict(options?.AdditionalProperties);
        return new ChatRequest(mapped)
        {
            Temperature = options?.Temperature,
            TopP = options?.TopP,
            MaxOutputTokens = options?.MaxOutputTokens,
            Stop = options?.StopSequences is { Count: > 0 } stop ? stop.ToArray() : null,
            ResponseFormat = ToFormat(options?.ResponseFormat, strict),
            Tools = ToTools(options?.Tools, strict),
            ToolChoice = options?.ToolMode switch
            {
                null => null,
                NoneChatToolMode => "none",
                RequiredChatToolMode { RequiredFunctionName: { } name } => name,
                RequiredChatToolMode => "required",
                _ => "auto",
            },
            Seed = options?.Seed,
        };
    }

    public static ChatResponse ToResponse(ChatCompletion completion)
    {
        var message = ToMessage(completion.Message);
        message.MessageId = completion.Id;
        message.CreatedAt = completion.Created;
        var response = new ChatResponse(message)
        {
            ResponseId = completion.Id,
            ModelId = completion.Model,
            CreatedAt = completion.Created,
            FinishReason = ToFinishReason(completion.FinishReason),
            Usage = ToUsage(completion.Usage),
            RawRepresentation = completion,
            AdditionalProperties = new()
            {
                [LlmRouterPropertyNames.Provider] = completion.Provider,
                [LlmRouterPropertyNames.ProviderModel] = completion.ProviderModel,
                [LlmRouterPropertyNames.CostUsd] = completion.CostUsd,
                [LlmRouterPropertyNames.Attempts] = completion.Attempts.Count,
                [LlmRouterPropertyNames.LatencyMs] = completion.LatencyMs,
            },
        };
        if (completion.Deployment is { } deployment)
        {
            response.AdditionalProperties[LlmRouterPropertyNames.Deployment] = deployment;
        }

        return response;
    }

    public static ChatResponseUpdate ToUpdate(ChatStreamItem item, string responseId, string? model, DateTimeOffset created)
    {
        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(item.TextDelta))
        {
            contents.Add(new TextContent(item.TextDelta));
        }

        if (item.ToolCalls is { Count: > 0 } calls)
        {
            contents.AddRange(calls.Select(ToFunctionCall));
        }

        if (item.Usage is { } usage)
        {
            contents.Add(new UsageContent(ToUsage(usage)));
        }

        if (item.ErrorClass is { } errorClass)
        {
            contents.Add(new ErrorContent(item.ErrorMessage ?? errorClass.Name()) { ErrorCode = errorClass.Name() });
        }

        var update = new ChatResponseUpdate(ChatRole.Assistant, contents)
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = model,
            CreatedAt = created,
            FinishReason = ToFinishReason(item.FinishReason),
            RawRepresentation = item,
        };
        if (item.Provider is not null || item.CostUsd is not null)
        {
            update.AdditionalProperties = [];
            if (item.Provider is { } provider)
            {
                update.AdditionalProperties[LlmRouterPropertyNames.Provider] = provider;
            }

            if (item.Deployment is { } deployment)
            {
                update.AdditionalProperties[LlmRouterPropertyNames.Deployment] = deployment;
            }

            if (item.CostUsd is { } cost)
            {
                update.AdditionalProperties[LlmRouterPropertyNames.CostUsd] = cost;
            }
        }

        return update;
    }

    public static UsageDetails ToUsage(TokenUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
        CachedInputTokenCount = usage.CachedTokens > 0 ? usage.CachedTokens : null,
        ReasoningTokenCount = usage.ReasoningTokens > 0 ? usage.ReasoningTokens : null,
    };

    public static ChatFinishReason? ToFinishReason(string? reason) => reason switch
    {
        null or "" => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    private static void AddMessage(List<RouterMessage> mapped, AiChatMessage message)
    {
        var parts = new List<ContentPart>();
        List<ToolCall>? calls = null;
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent text:
                    if (!string.IsNullOrEmpty(text.Text))
                    {
                        parts.Add(ContentPart.FromText(text.Text));
                    }

                    break;
                case DataContent data when data.HasTopLevelMediaType("image"):
                    parts.Add(ContentPart.FromImage(data.Uri, Detail(data)));
                    break;
                case UriContent uri when uri.HasTopLevelMediaType("image"):
                    parts.Add(ContentPart.FromImage(uri.Uri.ToString(), Detail(uri)));
                    break;
                case DataContent data:
                    throw new NotSupportedException($"The router accepts text and images; content of media type '{data.MediaType}' is not supported.");
                case UriContent uri:
                    throw new NotSupportedException($"The router accepts text and images; content of media type '{uri.MediaType}' is not supported.");
                case FunctionCallContent call:
                    (calls ??= []).Add(new ToolCall(call.CallId, call.Name, SerializeArguments(call.Arguments)));
                    break;
                case FunctionResultContent result:
                    // Tool results travel as tool messages, right after the assistant message that asked for them.
                    mapped.Add(new RouterMessage("tool", [ContentPart.FromText(ResultText(result))], ToolCallId: result.CallId));
                    break;
                case TextReasoningContent or UsageContent or ErrorContent:
                    // Output-only content: not sent back to a model.
                    break;
                default:
                    throw new NotSupportedException($"The router does not support content of type '{content.GetType().Name}' in chat messages.");
            }
        }

        if (parts.Count > 0 || calls is not null)
        {
            mapped.Add(new RouterMessage(message.Role.Value, parts, message.AuthorName, ToolCalls: calls));
        }
    }

    private static AiChatMessage ToMessage(RouterMessage message)
    {
        var contents = new List<AIContent>();
        var text = message.Text;
        if (text.Length > 0)
        {
            contents.Add(new TextContent(text));
        }

        if (message.ToolCalls is { Count: > 0 } calls)
        {
            contents.AddRange(calls.Select(ToFunctionCall));
        }

        return new AiChatMessage(new ChatRole(message.Role), contents) { AuthorName = message.Name };
    }

    private static FunctionCallContent ToFunctionCall(ToolCall call) =>
        FunctionCallContent.CreateFromParsedArguments(call.ArgumentsJson, call.Id, call.Name, ParseArguments);

    private static IDictionary<string, object?>? ParseArguments(string json) =>
        string.IsNullOrWhiteSpace(json)
            ? new Dictionary<string, object?>()
            : (IDictionary<string, object?>?)JsonSerializer.Deserialize(json, Json.GetTypeInfo(typeof(IDictionary<string, object?>)));

    private static string SerializeArguments(IDictionary<string, object?>? arguments) =>
        arguments is null ? "{}" : JsonSerializer.Serialize(arguments, Json.GetTypeInfo(typeof(IDictionary<string, object?>)));

    private static string ResultText(FunctionResultContent result) => result.Result switch
    {
        null => result.Exception is { } ex ? "Error: " + ex.Message : string.Empty,
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } element => element.GetString() ?? string.Empty,
        TextContent text => text.Text,
        var other => JsonSerializer.Serialize(other, Json.GetTypeInfo(typeof(object))),
    };

    private static string? Detail(AIContent content) =>
        content.AdditionalProperties?.TryGetValue("detail", out var detail) == true ? detail?.ToString() : null;

    private static ResponseFormat? ToFormat(ChatResponseFormat? format, bool strict) => format switch
    {
        null or ChatResponseFormatText => null,
        ChatResponseFormatJson { Schema: { } schema } json => new ResponseFormat(ResponseFormatKind.JsonSchema, json.SchemaName ?? "response", schema.GetRawText(), strict),
        ChatResponseFormatJson => new ResponseFormat(ResponseFormatKind.JsonObject),
        _ => throw new NotSupportedException($"The response format '{format.GetType().Name}' is not supported."),
    };

    private static List<ToolDefinition>? ToTools(IList<AITool>? tools, bool strict)
    {
        if (tools is not { Count: > 0 })
        {
            return null;
        }

        var definitions = new List<ToolDefinition>(tools.Count);
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration function)
            {
                throw new NotSupportedException($"The tool '{tool.Name}' ({tool.GetType().Name}) is not supported: the router forwards function tools (AIFunctionDeclaration) only.");
            }

            var schema = function.JsonSchema.ValueKind == JsonValueKind.Undefined ? null : function.JsonSchema.GetRawText();
            var description = string.IsNullOrEmpty(function.Description) ? null : function.Description;
            definitions.Add(new ToolDefinition(function.Name, description, schema, strict || IsStrict(function.AdditionalProperties)));
        }

        return definitions;
    }

    private static bool IsStrict(IReadOnlyDictionary<string, object?>? properties) =>
        properties is not null && properties.TryGetValue(StrictJsonSchema, out var value) && value is true;
}
