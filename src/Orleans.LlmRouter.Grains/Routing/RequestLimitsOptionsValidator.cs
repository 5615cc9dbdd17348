using Microsoft.Extensions.Options;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>Refuses limits that cannot work (a start-up error naming the setting).</summary>
internal sealed class RequestLimitsOptionsValidator : IValidateOptions<RequestLimitsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RequestLimitsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxBodyBytes < 1024)
        {
            errors.Add($"{RequestLimitsOptions.SectionName}:MaxBodyBytes must be at least 1024 (is {options.MaxBodyBytes}).");
        }

        Positive(options.MaxMessages, nameof(options.MaxMessages));
        Positive(options.MaxCharactersPerMessage, nameof(options.MaxCharactersPerMessage));
        Positive(options.MaxEmbeddingInputs, nameof(options.MaxEmbeddingInputs));
        if (options.MaxTools < 0)
        {
            errors.Add($"{RequestLimitsOptions.SectionName}:MaxTools must not be negative (is {options.MaxTools}).");
        }

        if (options.MaxImages < 0)
        {
            errors.Add($"{RequestLimitsOptions.SectionName}:MaxImages must not be negative (is {options.MaxImages}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Positive(int value, string setting)
        {
            if (value < 1)
            {
                errors.Add($"{RequestLimitsOptions.SectionName}:{setting} must be at least 1 (is {value}).");
            }
        }
    }
}
