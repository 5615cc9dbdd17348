namespace Orleans.LlmRouter.Contracts;

/// <summary>One part of a message's content: text or an image.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.ContentPart")]
public sealed record ContentPart(
    [property: Id(0)] ContentPartKind Kind,
    [property: Id(1)] string? Text = null,
    [property: Id(2)] string? ImageUrl = null,
    [property: Id(3)] string? ImageDetail = null)
{
    /// <summary>
    /// A prompt-cache breakpoint on this part, as the caller sent it (Anthropic's <c>cache_control</c> object, e.g.
    /// <c>{"type":"ephemeral","ttl":"1h"}</c>): passed on by adapters whose API takes it, ignored by the others.
    /// </summary>
    [Id(4)] public string? CacheControlJson { get; init; }

    /// <summary>Creates a text part.</summary>
    public static ContentPart FromText(string text) => new(ContentPartKind.Text, Text: text);

    /// <summary>Creates an image part from a URL or data URI.</summary>
    public static ContentPart FromImage(string url, string? detail = null) => new(ContentPartKind.Image, ImageUrl: url, ImageDetail: detail);
}
