using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>One item of a response's <c>output</c>: an assistant <c>message</c> with its text, or a <c>function_call</c>.</summary>
internal sealed record ResponseOutputItem(string Id, string? Text, ToolCall? Call)
{
    public static IReadOnlyList<ResponseOutputItem> From(string requestId, RouterMessage message)
    {
        var items = new List<ResponseOutputItem>();
        if (message.Text.Length > 0 || message.ToolCalls is not { Count: > 0 })
        {
            items.Add(new("msg_" + requestId, message.Text, null));
        }

        var i = 0;
        foreach (var call in message.ToolCalls ?? [])
        {
            items.Add(new($"fc_{requestId}_{i++}", null, call));
        }

        return items;
    }
}
