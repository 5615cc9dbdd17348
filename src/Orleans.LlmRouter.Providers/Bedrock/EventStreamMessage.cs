namespace Orleans.LlmRouter.Providers.Bedrock;

/// <summary>One message of an <c>application/vnd.amazon.eventstream</c> body: its string headers and its payload.</summary>
/// <param name="Headers">The headers whose value is a string (<c>:message-type</c>, <c>:event-type</c>, <c>:exception-type</c>, <c>:content-type</c>); other header types are skipped.</param>
/// <param name="Payload">The payload bytes (JSON for Bedrock).</param>
internal sealed record EventStreamMessage(IReadOnlyDictionary<string, string> Headers, ReadOnlyMemory<byte> Payload)
{
    /// <summary><c>event</c>, <c>exception</c> or <c>error</c>.</summary>
    public string MessageType => Headers.GetValueOrDefault(":message-type") ?? "event";

    /// <summary>The event's name (<c>messageStart</c>, <c>contentBlockDelta</c>, …) or the exception's type.</summary>
    public string? Name => MessageType switch
    {
        "exception" => Headers.GetValueOrDefault(":exception-type"),
        "error" => Headers.GetValueOrDefault(":error-code"),
        _ => Headers.GetValueOrDefault(":event-type"),
    };
}
