namespace Orleans.LlmRouter.Contracts;

/// <summary>The kind of a content part inside a chat message.</summary>
public enum ContentPartKind
{
    /// <summary>Plain text.</summary>
    Text = 0,

    /// <summary>An image given by URL or as a base64 data URI.</summary>
    Image = 1,
}
