using Microsoft.Extensions.Options;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Binds and validates settings the builder needs before the host exists (clustering, storage, roles): the same
/// options and validators the container gets (<see cref="LlmRouterSettings.AddLlmRouterSettings"/>), run eagerly, so a bad
/// value fails <see cref="GatewayHost.Build"/> with an <see cref="OptionsValidationException"/> (exit code 2).
/// </summary>
internal static class SettingsBinder
{
    public static T Bind<T>(IConfiguration config, IValidateOptions<T> validator)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(validator);
        var options = new T();
        try
        {
            config.GetSection(LlmRouterOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // A value of the wrong type (a port that is not a number): the binder's message names the key.
            throw new OptionsValidationException(typeof(T).Name, typeof(T), [ex.Message + (ex.InnerException is { } inner ? " " + inner.Message : string.Empty)]);
        }

        var result = validator.Validate(Options.DefaultName, options);
        return result.Failed ? throw new OptionsValidationException(typeof(T).Name, typeof(T), result.Failures) : options;
    }
}
