namespace Orleans.LlmRouter.Configuration;

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
