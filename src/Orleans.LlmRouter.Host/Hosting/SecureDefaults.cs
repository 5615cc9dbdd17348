using System.Collections.Frozen;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>Applies <see cref="SecureDefaultsOptions"/>: start-up errors for shipped keys, the simulated provider disabled.</summary>
internal static class SecureDefaults
{
    /// <summary>Hashes of the keys published in the repository: the admin key of appsettings.json and the tenants of config/tenants.yaml.</summary>
    internal static readonly FrozenSet<string> ShippedKeyHashes = new[]
    {
        "sha256:3bbd2a43ba10dd4389e53cd5c54888d63aba64f9c49cc829b75ca2c68d4e7716", // admin (appsettings.json)
        "sha256:4eaa968909b573bd4ef14b734ea97871422dbcf6864a4fe98a9b7382fcba6dec", // tenant dev: sk-llmrouter-dev
        "sha256:ce0b15fb7659138cddf1d40f4259a49cecb5f83a2f1d5992e5c808e1442f258b", // tenant demo: sk-llmrouter-demo-b
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public const string SimulatedDisabledReason =
        "the simulated provider (fabricated, priced answers) is off outside the embedded mode; set LlmRouter:AllowSimulated=true to enable it";

    /// <summary>One silo co-hosting HTTP, in memory, localhost clustering: the first-run shape.</summary>
    public static bool IsEmbedded(SiloSettings settings) =>
        settings.Role == GatewayRole.All && !settings.Durable && !settings.PostgresClustering;

    public static SecureDefaultsOptions Read(IConfiguration config)
    {
        try
        {
            return config.GetSection("LlmRouter").Get<SecureDefaultsOptions>() ?? new SecureDefaultsOptions();
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException([new ConfigError(new SourceLocation("LlmRouter:AllowDevKeys / LlmRouter:AllowSimulated", 0, 0), "must be true or false: " + ex.Message)]);
        }
    }

    /// <summary>The shipped keys a non-embedded gateway would accept; empty when it may start.</summary>
    public static IReadOnlyList<ConfigError> Check(SiloSettings settings, SecureDefaultsOptions options, string? adminKeyHash, ModelCatalog catalog)
    {
        if (IsEmbedded(settings) || options.AllowDevKeys)
        {
            return [];
        }

        const string OptIn = "(set LlmRouter:AllowDevKeys=true only for a local, insecure setup)";
        var errors = new List<ConfigError>();
        if (adminKeyHash is not null && ShippedKeyHashes.Contains(adminKeyHash.Trim()))
        {
            errors.Add(new ConfigError(
                new SourceLocation("LlmRouter:AdminKeyHash", 0, 0),
                $"the admin key hash is the shipped development one, whose key is public: set LlmRouter:AdminKeyHash to the sha256 of a secret key, or leave it empty to close the admin API {OptIn}"));
        }

        foreach (var tenant in catalog.Tenants.Values.OrderBy(t => t.Id, StringComparer.Ordinal))
        {
            if (tenant.KeyHashes.Concat(tenant.Keys.Values.Select(k => k.Hash)).Any(h => ShippedKeyHashes.Contains(h.Trim())))
            {
                errors.Add(new ConfigError(
                    tenant.Location,
                    $"tenant '{tenant.Id}' uses a shipped development key, which is public: give it a key hash of your own, or manage tenants through the admin API {OptIn}"));
            }
        }

        return errors;
    }

    /// <summary>The catalog with the simulated provider disabled, unless embedded or allowed.</summary>
    public static ModelCatalog ApplySimulated(SiloSettings settings, SecureDefaultsOptions options, ModelCatalog catalog) =>
        IsEmbedded(settings) || options.AllowSimulated
            ? catalog
            : catalog.DisableProviders(p => p.Type == ProviderTypes.Simulated, SimulatedDisabledReason);
}
