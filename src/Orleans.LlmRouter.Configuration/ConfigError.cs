using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration;

/// <summary>One problem found in the configuration, with where it is.</summary>
public sealed record ConfigError(SourceLocation Location, string Message)
{
    /// <summary>The error as <c>file:line:column: message</c>.</summary>
    public override string ToString() => $"{Location.File}:{Location.Line}:{Location.Column}: {Message}";
}
