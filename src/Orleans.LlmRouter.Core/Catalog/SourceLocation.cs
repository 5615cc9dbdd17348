namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Where a definition was written: file and 1-based line and column.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    /// <summary>The location of a definition made in code rather than read from a file.</summary>
    public static SourceLocation None { get; } = new("<code>", 0, 0);

    /// <summary>The location as <c>file:line:column</c>.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}";
}
