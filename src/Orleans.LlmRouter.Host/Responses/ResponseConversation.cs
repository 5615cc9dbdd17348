using System.Text.Json;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// A stored response's conversation as text: the request model's messages in the Chat Completions message format
/// (<c>{"messages":[…]}</c>), read back with <see cref="OpenAiRequestParser"/>, so the stored form is a documented
/// wire format rather than our serializer's.
/// </summary>
internal static class ResponseConversation
{
    public static string Write(IReadOnlyList<RouterMessage> messages) => SurfaceJson.Text(messages, static (w, messages) =>
    {
        w.WriteStartObject();
        w.WriteStartArray("messages");
        foreach (var m in messages)
        {
            w.WriteStartObject();
            w.WriteString("role", m.Role);
            if (m.Content.Count == 0 && m.ToolCalls is { Count: > 0 })
            {
                w.WriteNull("content");
            }
            else if (m.Content.All(p => p.Kind == ContentPartKind.Text))
            {
                w.WriteString("content", m.Text);
            }
            else
            {
                w.WriteStartArray("content");
                foreach (var p in m.Content)
                {
                    w.WriteStartObject();
                    if (p.Kind == ContentPartKind.Image)
                    {
                        w.WriteString("type", "image_url");
                        w.WriteStartObject("image_url");
                        w.WriteString("url", p.ImageUrl);
                        if (p.ImageDetail is { } detail)
                        {
                            w.WriteString("detail", detail);
                        }

                        w.WriteEndObject();
                    }
                    else
                    {
                        w.WriteString("type", "text");
                        w.WriteString("text", p.Text);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (m.ToolCallId is { } callId)
            {
                w.WriteString("tool_call_id", callId);
            }

            if (m.ToolCalls is { Count: > 0 } calls)
            {
                w.WriteStartArray("tool_calls");
                foreach (var call in calls)
                {
                    w.WriteStartObject();
                    w.WriteString("id", call.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", call.Name);
                    w.WriteString("arguments", call.ArgumentsJson);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    public static IReadOnlyList<RouterMessage> Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return OpenAiRequestParser.Parse(doc.RootElement).Request.Messages;
    }
}
