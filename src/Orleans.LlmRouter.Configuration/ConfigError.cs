using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration;

/// <summary>One problem found in the configuration, with where it is.</summary>
public sealed record ConfigError(SourceLocation Location, string Message)
{
    /// <summary>The error as <c>file:line:column: message</c>.</summary>
    public override string ToString() => $"{Location.File}:{Location.Line}:{Location.Column}: {Message}";
}

/// <summary>The configuration is invalid; <see cref="Errors"/> lists every problem found, not just the first.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ConfigurationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception from every problem found; its message lists them all, one per line.</summary>
    public ConfigurationException(IReadOnlyList<ConfigError> errors)
        : base($"The configuration has {errors.Count} error(s):{Environment.NewLine}" + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, in the order found; empty when the exception was created from a plain message.</summary>
    public IReadOnlyList<ConfigError> Errors { get; } = [];
}

/// <summary>The result of loading: the catalog and notices such as providers disabled for a missing key.</summary>
public sealed record CatalogLoadResult(ModelCatalog Catalog, IReadOnlyList<string> Notices, IReadOnlyList<string> Files);
