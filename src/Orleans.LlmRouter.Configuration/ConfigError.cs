using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration;

/// <summary>One problem found in the configuration, with where it is.</summary>
public sealed record ConfigError(SourceLocation Location, string Message)
{
    public override string ToString() => $"{Location.File}:{Location.Line}:{Location.Column}: {Message}";
}

/// <summary>The configuration is invalid; <see cref="Errors"/> lists every problem found, not just the first.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException()
    {
    }

    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ConfigurationException(IReadOnlyList<ConfigError> errors)
        : base($"The configuration has {errors.Count} error(s):{Environment.NewLine}" + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        Errors = errors;
    }

    public IReadOnlyList<ConfigError> Errors { get; } = [];
}

/// <summary>The result of loading: the catalog and notices such as providers disabled for a missing key.</summary>
public sealed record CatalogLoadResult(ModelCatalog Catalog, IReadOnlyList<string> Notices, IReadOnlyList<string> Files);
