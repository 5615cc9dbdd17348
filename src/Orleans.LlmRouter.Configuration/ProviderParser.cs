using Orleans.LlmRouter.Core.Catalog;
using YamlDotNet.RepresentationModel;

namespace Orleans.LlmRouter.Configuration;

internal static class ProviderParser
{
    public static ProviderDefinition? Parse(YamlNodeReader r, YamlMappingNode map)
    {
        r.CheckKeys(map, "a provider", "id", "type", "base_url", "api_key_env", "timeout_seconds", "priority", "enabled", "limits", "circuit_breaker", "retry", "options", "description", "health_check_seconds", "stream_idle_timeout_seconds");
        var id = r.String(map, "id", "a provider", required: true);
        var what = id is null ? "a provider" : $"provider '{id}'";
        var type = r.String(map, "type", what, required: true);
        var baseUrl = r.String(map, "base_url", what);
        if (baseUrl is not null && !Uri.TryCreate(baseUrl, UriKind.Absolute, out _))
        {
            r.Error(r.Get(map, "base_url")!, $"'base_url' of {what} must be an absolute URL");
        }

        var apiKeyEnv = r.String(map, "api_key_env", what);
        var timeout = r.Int(map, "timeout_seconds", what, min: 1) ?? 120;
        var priority = r.Int(map, "priority", what, min: 0) ?? 100;
        var enabled = r.Bool(map, "enabled", what) ?? true;
        var limits = ParseLimits(r, r.Map(map, "limits", what), what);
        var breaker = ParseBreaker(r, r.Map(map, "circuit_breaker", what), what) ?? BreakerSettings.Default;

        var retry = RetrySettings.Default;
        if (r.Map(map, "retry", what) is { } rt)
        {
            var rw = $"retry of {what}";
            r.CheckKeys(rt, rw, "max_attempts", "base_delay_ms", "max_delay_ms");
            retry = new RetrySettings(
                r.Int(rt, "max_attempts", rw, min: 1) ?? 3,
                r.Int(rt, "base_delay_ms", rw, min: 0) is { } bd ? TimeSpan.FromMilliseconds(bd) : null,
                r.Int(rt, "max_delay_ms", rw, min: 0) is { } md ? TimeSpan.FromMilliseconds(md) : null);
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (r.Map(map, "options", what) is { } o)
        {
            foreach (var (k, v) in o.Children)
            {
                if (k is YamlScalarNode { Value: { } key } && v is YamlScalarNode { Value: { } value })
                {
                    options[key] = value;
                }
                else
                {
                    r.Error(k, $"options of {what} must be simple key: value pairs");
                }
            }
        }

        if (id is not null && !CatalogLoader.IsValidName(id))
        {
            r.Error(r.Get(map, "id")!, $"provider id '{id}' has characters outside letters, digits and . _ : / -");
        }

        var healthCheck = r.Int(map, "health_check_seconds", what, min: 1);
        var streamIdle = r.Int(map, "stream_idle_timeout_seconds", what, min: 1);
        return id is null || type is null
            ? null
            : new ProviderDefinition(id, type, baseUrl, apiKeyEnv, TimeSpan.FromSeconds(timeout), priority, enabled, limits, breaker, retry, options, r.At(map))
            {
                HealthCheckInterval = healthCheck is { } h ? TimeSpan.FromSeconds(h) : null,
                StreamIdleTimeout = streamIdle is { } si ? TimeSpan.FromSeconds(si) : ProviderDefinition.DefaultStreamIdleTimeout,
            };
    }

    internal static BreakerSettings? ParseBreaker(YamlNodeReader r, YamlMappingNode? b, string what)
    {
        if (b is null)
        {
            return null;
        }

        var bw = $"circuit_breaker of {what}";
        r.CheckKeys(b, bw, "failure_ratio", "minimum_calls", "window_seconds", "break_seconds");
        return new BreakerSettings(
            r.Double(b, "failure_ratio", bw, 0.01, 1.0) ?? 0.5,
            r.Int(b, "minimum_calls", bw, min: 1) ?? 10,
            r.Int(b, "window_seconds", bw, min: 1) is { } w ? TimeSpan.FromSeconds(w) : null,
            r.Int(b, "break_seconds", bw, min: 1) is { } s ? TimeSpan.FromSeconds(s) : null);
    }

    internal static ProviderLimits ParseLimits(YamlNodeReader r, YamlMappingNode? map, string what)
    {
        if (map is null)
        {
            return ProviderLimits.Unlimited;
        }

        var lw = $"limits of {what}";
        r.CheckKeys(map, lw, "rpm", "tpm", "max_concurrency");
        return new ProviderLimits(r.Int(map, "rpm", lw, min: 1), r.Long(map, "tpm", lw, min: 1), r.Int(map, "max_concurrency", lw, min: 1));
    }
}
