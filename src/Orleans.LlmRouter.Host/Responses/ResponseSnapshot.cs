using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Host.Responses;

/// <summary>A response object at one moment (created, in progress, done): what <see cref="ResponsesWriter.WriteResponse"/> writes.</summary>
internal sealed record ResponseSnapshot(string Id, long CreatedAt, string Status, string Model, ParsedResponsesRequest Request)
{
    public IReadOnlyList<ResponseOutputItem> Output { get; init; } = [];

    public TokenUsage? Usage { get; init; }

    /// <summary><c>max_output_tokens</c> or <c>content_filter</c> when <see cref="Status"/> is <c>incomplete</c>.</summary>
    public string? IncompleteReason { get; init; }

    /// <summary>The error when <see cref="Status"/> is <c>failed</c>.</summary>
    public (string Code, string Message)? Error { get; init; }

    /// <summary>The status and incomplete reason a finish reason of the request model gives.</summary>
    public static (string Status, string? Reason) StatusOf(string? finish) => finish switch
    {
        "length" => ("incomplete", "max_output_tokens"),
        "content_filter" => ("incomplete", "content_filter"),
        _ => ("completed", null),
    };
}
