namespace Orleans.LlmRouter.Configuration.Tests.Validation;

/// <summary>The <c>cache:</c> blocks of tenants and actions.</summary>
public sealed class CacheSettingsTests
{
    private const string Base = """
        providers:
          - { id: sim, type: simulated }
        models:
          - { name: m1, provider: sim, provider_model: m1-v1, capabilities: [chat], context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 2 } }

        """;

    private static CatalogLoadResult Load(string yaml) =>
        new CatalogLoader(new HashSet<string>(StringComparer.Ordinal) { "simulated" }, environment: _ => null).Load([("c.yaml", Base + yaml)]);

    private static IReadOnlyList<ConfigError> Errors(string yaml) => Assert.Throws<ConfigurationException>(() => Load(yaml)).Errors;

    [Fact]
    public void A_tenant_and_an_action_read_their_cache_settings()
    {
        var catalog = Load("""
            actions:
              - { name: a1, requires: [chat], cache: { enabled: true, ttl_seconds: 90, any_request: true }, strategies: { default: [m1] } }
            tenants:
              - { id: t1, cache: { enabled: true, ttl_seconds: 600, max_mb: 8, namespace: shared-pool, hit_price_usd: 0.0005 } }
              - { id: t2, cache: { enabled: false } }
              - { id: t3 }
            """).Catalog;
        var action = catalog.Actions["a1"].Cache!;
        Assert.True(action.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(90), action.Ttl);
        Assert.True(action.AnyRequest);
        var t1 = catalog.Tenants["t1"].Cache!;
        Assert.Equal((true, TimeSpan.FromMinutes(10), 8L * 1024 * 1024, "shared-pool", 0.0005m), (t1.Enabled!.Value, t1.Ttl!.Value, t1.MaxBytes!.Value, t1.Namespace, t1.HitPriceUsd!.Value));
        Assert.False(catalog.Tenants["t2"].Cache!.Enabled);
        Assert.Null(catalog.Tenants["t3"].Cache);
    }

    [Theory]
    [InlineData("tenants:\n  - { id: t, cache: { ttl_seconds: 0 } }\n", "ttl_seconds")]
    [InlineData("tenants:\n  - { id: t, cache: { ttl_seconds: 604801 } }\n", "at most 604800")]
    [InlineData("tenants:\n  - { id: t, cache: { namespace: 'a b' } }\n", "namespace")]
    [InlineData("tenants:\n  - { id: t, cache: { max_mb: 0 } }\n", "max_mb")]
    [InlineData("tenants:\n  - { id: t, cache: { hit_price_usd: -1 } }\n", "hit_price_usd")]
    [InlineData("tenants:\n  - { id: t, cache: { enabled: maybe } }\n", "enabled")]
    [InlineData("tenants:\n  - { id: t, cache: { ttl: 5 } }\n", "ttl")]
    [InlineData("actions:\n  - { name: a, requires: [chat], cache: { namespace: x }, strategies: { default: [m1] } }\n", "namespace")]
    public void A_malformed_cache_block_is_a_configuration_error_naming_the_field(string yaml, string field)
    {
        var error = Assert.Single(Errors(yaml));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
        Assert.Contains("cache of", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_semantic_cache_reads_its_settings_and_must_name_an_embedding_model()
    {
        const string Embedder = """
            models:
              - { name: e1, provider: sim, provider_model: e1-v1, capabilities: [embedding], context_window: 8192, max_output_tokens: 1, pricing: { input: 0.02, output: 0 } }

            """;
        var catalog = new CatalogLoader(new HashSet<string>(StringComparer.Ordinal) { "simulated" }, environment: _ => null)
            .Load([("c.yaml", Base), ("e.yaml", Embedder + "tenants:\n  - { id: t, cache: { enabled: true, semantic: { model: e1, threshold: 0.9, max_entries: 50, dimensions: 256 } } }\n")]).Catalog;
        Assert.Equal(new Core.Catalog.SemanticCacheSettings("e1", 0.9, 50, 256), catalog.Tenants["t"].Cache!.Semantic);

        var error = Assert.Single(Errors("tenants:\n  - { id: t, cache: { semantic: { model: m1 } } }\n"));
        Assert.Contains("not a catalog model with capability embedding", error.Message, StringComparison.Ordinal);
        Assert.Contains("threshold", Assert.Single(Errors("tenants:\n  - { id: t, cache: { semantic: { model: m1, threshold: 2 } } }\n"), e => e.Message.Contains("threshold", StringComparison.Ordinal)).Message, StringComparison.Ordinal);
    }
}
