using System.Globalization;
using Microsoft.Extensions.AI;

namespace Orleans.LlmRouter.Client;

/// <summary>Typed access to the router's routing hints on <see cref="ChatOptions"/> and <see cref="EmbeddingGenerationOptions"/>.</summary>
public static class LlmRouterOptionsExtensions
{
    /// <summary>
    /// Sets routing hints for calls made with these options and returns the same instance. Arguments left null keep
    /// what is already set. The model itself is <see cref="ChatOptions.ModelId"/> (a catalog model, <c>auto</c> or
    /// <c>action:&lt;name&gt;</c>); an explicit catalog model wins over <paramref name="action"/>.
    /// </summary>
    /// <example><code>var options = new ChatOptions().WithLlmRouter(tenant: "acme", action: "chat_small", runId: "run-42");</code></example>
    public static ChatOptions WithLlmRouter(
        this ChatOptions options,
        string? tenant = null,
        string? action = null,
        string? strategy = null,
        string? runId = null,
        IEnumerable<string>? tags = null,
        decimal? maxCostUsd = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AdditionalProperties ??= [];
        Set(options.AdditionalProperties, tenant, action, strategy, runId, tags, maxCostUsd);
        return options;
    }

    /// <summary>Sets routing hints (tenant, run, tags, max cost, or an action such as <c>embedding</c>) for embedding calls.</summary>
    public static EmbeddingGenerationOptions WithLlmRouter(
        this EmbeddingGenerationOptions options,
        string? tenant = null,
        string? action = null,
        string? strategy = null,
        string? runId = null,
        IEnumerable<string>? tags = null,
        decimal? maxCostUsd = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AdditionalProperties ??= [];
        Set(options.AdditionalProperties, tenant, action, strategy, runId, tags, maxCostUsd);
        return options;
    }

    /// <summary>Reads the routing hints set on these options (by <c>WithLlmRouter</c> or by hand under <see cref="LlmRouterPropertyNames"/>).</summary>
    public static LlmRouterRouting GetLlmRouterRouting(this ChatOptions? options) => Read(options?.AdditionalProperties);

    /// <summary>Reads the routing hints set on these embedding options.</summary>
    public static LlmRouterRouting GetLlmRouterRouting(this EmbeddingGenerationOptions? options) => Read(options?.AdditionalProperties);

    /// <summary>The provider that served the response, as the router reported it.</summary>
    public static string? GetLlmRouterProvider(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(LlmRouterPropertyNames.Provider, out string? provider) == true ? provider : null;
    }

    /// <summary>What the response cost in USD, as the router priced it (null when unknown).</summary>
    public static decimal? GetLlmRouterCostUsd(this ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.AdditionalProperties?.TryGetValue(LlmRouterPropertyNames.CostUsd, out var value) == true ? ToDecimal(value, LlmRouterPropertyNames.CostUsd) : null;
    }

    private static void Set(AdditionalPropertiesDictionary properties, string? tenant, string? action, string? strategy, string? runId, IEnumerable<string>? tags, decimal? maxCostUsd)
    {
        if (tenant is not null)
        {
            properties[LlmRouterPropertyNames.Tenant] = tenant;
        }

        if (action is not null)
        {
            properties[LlmRouterPropertyNames.Action] = action;
        }

        if (strategy is not null)
        {
            properties[LlmRouterPropertyNames.Strategy] = strategy;
        }

        if (runId is not null)
        {
            properties[LlmRouterPropertyNames.Run] = runId;
        }

        if (tags is not null)
        {
            properties[LlmRouterPropertyNames.Tags] = tags.ToArray();
        }

        if (maxCostUsd is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(max, nameof(maxCostUsd));
            properties[LlmRouterPropertyNames.MaxCostUsd] = max;
        }
    }

    private static LlmRouterRouting Read(AdditionalPropertiesDictionary? properties)
    {
        if (properties is null || properties.Count == 0)
        {
            return new LlmRouterRouting();
        }

        return new LlmRouterRouting
        {
            TenantId = Text(properties, LlmRouterPropertyNames.Tenant),
            Action = Text(properties, LlmRouterPropertyNames.Action),
            Strategy = Text(properties, LlmRouterPropertyNames.Strategy),
            RunId = Text(properties, LlmRouterPropertyNames.Run),
            Tags = properties.TryGetValue(LlmRouterPropertyNames.Tags, out var tags) ? TagsOf(tags) : [],
            MaxCostUsd = properties.TryGetValue(LlmRouterPropertyNames.MaxCostUsd, out var max) ? ToDecimal(max, LlmRouterPropertyNames.MaxCostUsd) : null,
            ProjectId = Text(properties, LlmRouterPropertyNames.Project),
            KeyId = Text(properties, LlmRouterPropertyNames.Key),
            EndUser = Text(properties, LlmRouterPropertyNames.EndUser),
        };
    }

    private static string? Text(AdditionalPropertiesDictionary properties, string key) =>
        properties.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text ? text : null;

    private static string[] TagsOf(object? value) => value switch
    {
        null => [],
        string s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        IEnumerable<string> many => many.Where(t => !string.IsNullOrWhiteSpace(t)).ToArray(),
        _ => throw new ArgumentException($"'{LlmRouterPropertyNames.Tags}' must be a string sequence or a comma-separated string."),
    };

    private static decimal? ToDecimal(object? value, string key) => value switch
    {
        null => null,
        decimal d => d,
        double d => (decimal)d,
        float f => (decimal)f,
        int i => i,
        long l => l,
        string s when decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new ArgumentException($"'{key}' must be a number of USD."),
    };
}
