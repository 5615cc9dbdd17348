namespace Orleans.LlmRouter.Contracts;

/// <summary>The kind of a content part inside a chat message.</summary>
public enum ContentPartKind
{
    /// <summary>Plain text.</summary>
    Text = 0,

    /// <summary>An image given by URL or as a base64 data URI.</summary>
    Image = 1,

    /// <summary>
    /// A document the model reads itself (a PDF), given as base64 data with its media type or by URL; only models with
    /// the <c>documents</c> capability take one. Plain-text documents are text parts.
    /// </summary>
    Document = 2,
}
