namespace Orleans.LlmRouter.Contracts;

/// <summary>One part of a message's content: text, an image or a document.</summary>
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

    /// <summary>The media type of a document given as data (<c>application/pdf</c>); null otherwise.</summary>
    [Id(5)] public string? MediaType { get; init; }

    /// <summary>A document's bytes, base64-encoded (no data-URI prefix), when it is given as data; null otherwise.</summary>
    [Id(6)] public string? Data { get; init; }

    /// <summary>The URL a document is fetched from by the provider, when it is given by URL; null otherwise.</summary>
    [Id(7)] public string? Url { get; init; }

    /// <summary>A document's title, passed to providers that take one; null for none.</summary>
    [Id(8)] public string? Title { get; init; }

    /// <summary>Creates a text part.</summary>
    public static ContentPart FromText(string text) => new(ContentPartKind.Text, Text: text);

    /// <summary>Creates an image part from a URL or data URI.</summary>
    public static ContentPart FromImage(string url, string? detail = null) => new(ContentPartKind.Image, ImageUrl: url, ImageDetail: detail);

    /// <summary>Creates a document part from base64 data (e.g. a PDF, <paramref name="mediaType"/> <c>application/pdf</c>).</summary>
    public static ContentPart FromDocument(string mediaType, string base64Data, string? title = null) =>
        new(ContentPartKind.Document) { MediaType = mediaType, Data = base64Data, Title = title };

    /// <summary>Creates a document part the provider fetches from <paramref name="url"/> (an http(s) URL of a PDF).</summary>
    public static ContentPart FromDocumentUrl(string url, string? title = null) =>
        new(ContentPartKind.Document) { Url = url, Title = title };
}
