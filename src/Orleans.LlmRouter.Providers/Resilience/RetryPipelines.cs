using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Providers.Abstractions;
using Polly;
using Polly.Retry;

namespace Orleans.LlmRouter.Providers.Resilience;

/// <summary>
/// Builds the per-model retry policy: transient <see cref="ProviderException"/>s are retried with exponential
/// backoff and jitter; a provider's Retry-After replaces the computed delay, capped at <see cref="RetrySettings.Max"/>.
/// Permanent errors are never retried here (the router moves to the next model).
/// </summary>
internal static class RetryPipelines
{
    /// <summary>A pipeline of its own (tests, one-off callers); the router keeps one per provider in a <see cref="Polly.Registry.ResiliencePipelineRegistry{TKey}"/>.</summary>
    public static ResiliencePipeline Create(RetrySettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        AddRetry(builder, settings);
        return builder.Build();
    }

    /// <summary>Adds the retry strategy of <paramref name="settings"/> to a pipeline being built (nothing when it allows one attempt).</summary>
    public static void AddRetry(ResiliencePipelineBuilder builder, RetrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MaxAttempts <= 1)
        {
            return;
        }

        var options = new RetryStrategyOptions
        {
            MaxRetryAttempts = settings.MaxAttempts - 1,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = settings.Base,
            MaxDelay = settings.Max,
            ShouldHandle = new PredicateBuilder().Handle<ProviderException>(ex => ex.IsTransient),
            DelayGenerator = args =>
            {
                if (args.Outcome.Exception is ProviderException { RetryAfter: { } after })
                {
                    return ValueTask.FromResult<TimeSpan?>(after > settings.Max ? settings.Max : after);
                }

                return ValueTask.FromResult<TimeSpan?>(null);
            },
        };
        builder.AddRetry(options);
    }
}
