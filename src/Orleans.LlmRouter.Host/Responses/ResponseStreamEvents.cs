using System.Net.ServerSentEvents;
using System.Text.Json;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>Builds the typed events of one Responses stream, numbering them (<c>sequence_number</c>) in the order they go out.</summary>
internal sealed class ResponseStreamEvents
{
    private int _sequence;

    /// <summary>One event: <c>event: {type}</c> and a data object with <c>type</c>, <c>sequence_number</c> and what <paramref name="body"/> writes.</summary>
    public SseItem<string> Next(string type, Action<Utf8JsonWriter> body) =>
        SurfaceJson.Event(type, (type, _sequence++, body), static (w, s) =>
        {
            ResponsesWriter.BeginEvent(w, s.type, s.Item2);
            s.body(w);
            w.WriteEndObject();
        });

    public SseItem<string> Response(string type, ResponseSnapshot snapshot) => Next(type, w =>
    {
        w.WritePropertyName("response");
        ResponsesWriter.WriteResponse(w, snapshot);
    });

    public SseItem<string> ItemAdded(int index, ResponseOutputItem item) => Next("response.output_item.added", w =>
    {
        w.WriteNumber("output_index", index);
        w.WritePropertyName("item");
        ResponsesWriter.WriteItem(w, item, done: false);
    });

    public SseItem<string> ItemDone(int index, ResponseOutputItem item) => Next("response.output_item.done", w =>
    {
        w.WriteNumber("output_index", index);
        w.WritePropertyName("item");
        ResponsesWriter.WriteItem(w, item, done: true);
    });

    public SseItem<string> ContentPart(string type, int index, string itemId, string text) => Next(type, w =>
    {
        w.WriteString("item_id", itemId);
        w.WriteNumber("output_index", index);
        w.WriteNumber("content_index", 0);
        w.WritePropertyName("part");
        ResponsesWriter.WriteTextPart(w, text);
    });

    public SseItem<string> Text(string type, int index, string itemId, string property, string text) => Next(type, w =>
    {
        w.WriteString("item_id", itemId);
        w.WriteNumber("output_index", index);
        w.WriteNumber("content_index", 0);
        w.WriteString(property, text);
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
    });

    public SseItem<string> Arguments(string type, int index, string itemId, string property, string arguments, string? name = null) => Next(type, w =>
    {
        w.WriteString("item_id", itemId);
        w.WriteNumber("output_index", index);
        if (name is not null)
        {
            w.WriteString("name", name);
        }

        w.WriteString(property, arguments);
    });

    public SseItem<string> Error(string code, string message) => Next("error", w =>
    {
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteNull("param");
    });
}
