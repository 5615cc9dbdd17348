using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;

namespace Orleans.LlmRouter.Configuration.Tests.Validation;

public sealed class CatalogValidationTests
{
    private const string Base = """
        providers:
          - { id: sim, type: simulated }
        models:
          - name: m1
            provider: sim
            provider_model: m1-v1
            capabilities: [chat, vision]
            context_window: 1000
            max_output_tokens: 100
            pricing: { input: 1, output: 2 }
        actions:
          - name: a1
            requires: [chat]
            strategies:
              default: [m1]

        """;

    /// <summary>The types a host would have registered (the loader itself knows none).</summary>
    private static readonly IReadOnlySet<string> KnownTypes = new HashSet<string>(StringComparer.Ordinal) { "openai", "anthropic", "gemini", "ollama", "simulated" };

    private static CatalogLoadResult Load(params (string File, string Text)[] files) =>
        new CatalogLoader(KnownTypes, environment: _ => null).Load(files);

    private static IReadOnlyList<ConfigError> Errors(params (string File, string Text)[] files) =>
        Assert.Throws<ConfigurationException>(() => Load(files)).Errors;

    private static ConfigError Single(string yaml) => Assert.Single(Errors(("c.yaml", yaml)));

    [Fact]
    public void A_valid_configuration_loads()
    {
        var catalog = Load(("c.yaml", Base)).Catalog;
        Assert.Equal(2m, catalog.Models["m1"].Pricing.Output);
        Assert.Equal(["default"], catalog.Actions["a1"].Strategies.Keys);
        Assert.Contains(Capability.Vision, catalog.Models["m1"].Capabilities);
        Assert.Equal(new SourceLocation("c.yaml", 4, 5), catalog.Models["m1"].Location);
    }

    [Fact]
    public void A_model_may_have_its_own_limits_and_breaker_which_form_a_model_scope()
    {
        var yaml = Base.Replace("    pricing: { input: 1, output: 2 }\n", "    pricing: { input: 1, output: 2 }\n    limits: { rpm: 5, tpm: 9000 }\n    circuit_breaker: { minimum_calls: 3, break_seconds: 7 }\n", StringComparison.Ordinal);
        var catalog = Load(("c.yaml", yaml)).Catalog;
        var m1 = catalog.Models["m1"];
        Assert.Equal(new ProviderLimits(5, 9000), m1.Limits);
        Assert.Equal(3, m1.Breaker!.MinimumCalls);

        var scope = catalog.ResolveScope("m1@sim")!;
        Assert.Equal("m1@sim", scope.Id);
        Assert.Equal(TimeSpan.FromSeconds(7), scope.Breaker.Break);
        Assert.Equal(5, scope.Limits.RequestsPerMinute);
        Assert.Null(catalog.ResolveScope("m1@other"));
        Assert.Null(Load(("c.yaml", Base)).Catalog.ResolveScope("m1@sim")); // no own settings, no scope

        var error = Single(yaml.Replace("rpm: 5", "rpm: -5", StringComparison.Ordinal));
        Assert.Contains("rpm", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_provider_may_set_the_stream_idle_timeout_which_defaults_to_a_minute_and_must_be_positive()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), Load(("c.yaml", Base)).Catalog.Providers["sim"].StreamIdleTimeout);

        var yaml = Base.Replace("{ id: sim, type: simulated }", "{ id: sim, type: simulated, stream_idle_timeout_seconds: 15 }", StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(15), Load(("c.yaml", yaml)).Catalog.Providers["sim"].StreamIdleTimeout);

        var error = Single(yaml.Replace("stream_idle_timeout_seconds: 15", "stream_idle_timeout_seconds: 0", StringComparison.Ordinal));
        Assert.Contains("stream_idle_timeout_seconds", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Location.Line);
    }

    [Fact]
    public void Unreadable_yaml_is_reported_with_its_line()
    {
        var error = Single("providers:\n  - id: sim\n    type: simulated\n  options: [unclosed\n");
        Assert.Equal(4, error.Location.Line);
        Assert.Contains("unreadable YAML", error.Message, StringComparison.Ordinal);
        var truncated = Single("providers:\n  - { id: sim, type: simulated\nmodels: []\n");
        Assert.Contains("unreadable YAML", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_provider_type_points_at_the_type()
    {
        var error = Single(Base.Replace("type: simulated", "type: openia", StringComparison.Ordinal));
        Assert.Equal((2, 22), (error.Location.Line, error.Location.Column));
        Assert.Contains("unknown type 'openia'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_naming_an_unknown_provider_is_reported()
    {
        var error = Single(Base.Replace("provider: sim", "provider: nowhere", StringComparison.Ordinal));
        Assert.Equal(4, error.Location.Line);
        Assert.Contains("unknown provider 'nowhere'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_naming_an_unknown_model_points_at_the_entry()
    {
        var error = Single(Base.Replace("default: [m1]", "default: [m1, ghost]", StringComparison.Ordinal));
        Assert.Equal((15, 21), (error.Location.Line, error.Location.Column));
        Assert.Contains("unknown model 'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_lacking_a_capability_its_action_requires_is_reported()
    {
        var error = Single(Base.Replace("requires: [chat]", "requires: [chat, long_context]", StringComparison.Ordinal));
        Assert.Equal(15, error.Location.Line);
        Assert.Contains("lacks required capability long_context", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_default_strategy_is_reported_at_the_action()
    {
        var error = Single(Base.Replace("default: [m1]", "quality: [m1]", StringComparison.Ordinal));
        Assert.Equal(12, error.Location.Line);
        Assert.Contains("no 'default' strategy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("providers:\n  - { id: sim, type: simulated }\n", "duplicate provider 'sim' (first defined at c.yaml:2:5)", 2)]
    [InlineData("actions:\n  - { name: a1, strategies: { default: [m1] } }\n", "duplicate action 'a1' (first defined at c.yaml:12:5)", 2)]
    [InlineData("tenants:\n  - { id: t1 }\n  - { id: t1 }\n", "duplicate tenant 't1' (first defined at d.yaml:2:5)", 3)]
    public void Duplicate_names_are_reported_with_the_first_definition(string extra, string message, int line)
    {
        var error = Assert.Single(Errors(("c.yaml", Base), ("d.yaml", extra)));
        Assert.Equal(message, error.Message);
        Assert.Equal(line, error.Location.Line);
    }

    [Fact]
    public void Duplicates_across_files_name_the_other_file()
    {
        var error = Assert.Single(Errors(("a.yaml", Base), ("b.yaml", "models:\n  - { name: m1, provider: sim, provider_model: x, capabilities: [chat], context_window: 10, max_output_tokens: 5, pricing: { input: 0, output: 0 } }\n")));
        Assert.Equal(("b.yaml", 2), (error.Location.File, error.Location.Line));
        Assert.Equal("duplicate model 'm1' (first defined at a.yaml:4:5)", error.Message);
    }

    [Theory]
    [InlineData("pricing: { input: -1, output: 2 }", "'input' of pricing of model 'm1' must not be negative")]
    [InlineData("pricing: { input: 1 }", "pricing of model 'm1' is missing required field 'output'")]
    [InlineData("pricing: { input: one, output: 2 }", "'input' of pricing of model 'm1' must be a number")]
    [InlineData("pricing: { input: 1, output: 2, cached_input: -0.5 }", "'cached_input' of pricing of model 'm1' must not be negative")]
    public void Bad_prices_are_reported(string pricing, string message)
    {
        var error = Single(Base.Replace("pricing: { input: 1, output: 2 }", pricing, StringComparison.Ordinal));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(10, error.Location.Line);
    }

    [Fact]
    public void A_model_without_pricing_is_reported()
    {
        var error = Single(Base.Replace("    pricing: { input: 1, output: 2 }\n", string.Empty, StringComparison.Ordinal));
        Assert.Contains("missing required field 'pricing'", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, error.Location.Line);
    }

    [Fact]
    public void An_api_key_written_in_yaml_is_rejected_with_a_hint()
    {
        var error = Single(Base.Replace("{ id: sim, type: simulated }", "{ id: sim, type: simulated, api_key: sk-secret-123 }", StringComparison.Ordinal));
        Assert.Contains("api_key_env", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret-123", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulated")]
    [InlineData("anthropic")]
    [InlineData("openai")]
    [InlineData("echo_test_type")] // a host's own type decides for itself
    public void Documents_may_be_declared_where_the_adapter_passes_pdfs_on(string type)
    {
        var yaml = Base.Replace("type: simulated", "type: " + type, StringComparison.Ordinal).Replace("[chat, vision]", "[chat, vision, documents]", StringComparison.Ordinal);
        var catalog = new CatalogLoader(new HashSet<string>(KnownTypes) { "echo_test_type" }, environment: _ => null).Load([("c.yaml", yaml)]).Catalog;
        Assert.Contains(Capability.Documents, catalog.Models["m1"].Capabilities);
    }

    [Theory]
    [InlineData("gemini")]
    [InlineData("ollama")]
    [InlineData("bedrock")]
    [InlineData("azure_openai")]
    public void Documents_are_refused_on_a_type_whose_adapter_does_not_pass_pdfs_on(string type)
    {
        var yaml = Base.Replace("type: simulated", "type: " + type, StringComparison.Ordinal).Replace("[chat, vision]", "[chat, vision, documents]", StringComparison.Ordinal);
        var errors = Assert.Throws<ConfigurationException>(() => new CatalogLoader(new HashSet<string>(KnownTypes) { "bedrock", "azure_openai" }, environment: _ => null).Load([("c.yaml", yaml)])).Errors;
        var error = Assert.Single(errors);
        Assert.Equal(("c.yaml", 4), (error.Location.File, error.Location.Line));
        Assert.Contains($"model 'm1' declares capability documents, but provider 'sim' is of type '{type}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("capabilities: [chat, vision]", "capabilities: [chat, telepathy]", "unknown capability 'telepathy'")]
    [InlineData("context_window: 1000", "context_window: 0", "'context_window' of model 'm1' must be at least 1")]
    [InlineData("max_output_tokens: 100", "max_output_tokens: 5000", "max_output_tokens of model 'm1' exceeds its context_window")]
    [InlineData("provider_model: m1-v1", "provider_modl: m1-v1", "unknown field 'provider_modl'")]
    public void Field_errors_are_reported(string from, string to, string message)
    {
        var errors = Errors(("c.yaml", Base.Replace(from, to, StringComparison.Ordinal)));
        Assert.Contains(errors, e => e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("key_hashes: [\"plain-text-key\"]", "must be 'sha256:' and 64 hex digits")]
    [InlineData("time_zone: Mars/Base", "is not a known time zone")]
    [InlineData("budgets: { tokens: { daily: -5 } }", "'daily' of token budgets of tenant 't1' must be at least 0")]
    [InlineData("budgets: { tokens: { weekly: -5 } }", "'weekly' of token budgets of tenant 't1' must be at least 0")]
    [InlineData("budgets: { usd: { fortnightly: 1 } }", "unknown field 'fortnightly'")]
    [InlineData("allowed_models: [nope]", "allows unknown model 'nope'")]
    public void Tenant_errors_are_reported(string field, string message)
    {
        var error = Single(Base + "tenants:\n  - id: t1\n    " + field + "\n");
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tenant_budgets_are_read_for_every_window_including_weekly()
    {
        var yaml = Base + "tenants:\n  - id: t1\n    budgets: { tokens: { lifetime: 1, daily: 2, weekly: 3, monthly: 4 }, usd: { weekly: 0.5 }, run_tokens: 5, run_usd: 0.25 }\n";
        var budgets = Load(("c.yaml", yaml)).Catalog.Tenants["t1"].Budgets;
        Assert.Equal(3m, budgets.Limit("weekly", BudgetUnit.Tokens));
        Assert.Equal(0.5m, budgets.Limit("weekly", BudgetUnit.Usd));
        Assert.Equal(
            BudgetLimits.Of(("lifetime", BudgetUnit.Tokens, 1), ("daily", BudgetUnit.Tokens, 2), ("weekly", BudgetUnit.Tokens, 3), ("monthly", BudgetUnit.Tokens, 4), ("weekly", BudgetUnit.Usd, 0.5m), ("run", BudgetUnit.Tokens, 5), ("run", BudgetUnit.Usd, 0.25m)),
            budgets);
        Assert.Null(budgets.Limit("daily", BudgetUnit.Usd));
    }

    [Fact]
    public void Tenant_levels_are_read_projects_keys_and_end_users()
    {
        var yaml = Base + """
            tenants:
              - id: t1
                budgets: { tokens: { daily: 1000 } }
                projects:
                  - { id: app, budgets: { tokens: { daily: 500 } }, limits: { rpm: 5 }, allowed_models: [m1] }
                keys:
                  - { id: ci, hash: "sha256:abababababababababababababababababababababababababababababababab", project: app, expires_at: 2027-06-30T00:00:00Z, label: CI, budgets: { tokens: { daily: 200 } } }
                end_users:
                  alice: { budgets: { usd: { monthly: 5 } }, limits: { rpm: 2 } }
            """;
        var tenant = Load(("c.yaml", yaml)).Catalog.Tenants["t1"];
        Assert.Equal(500m, tenant.Projects["app"].Budgets.Limit("daily", BudgetUnit.Tokens));
        Assert.Equal(5, tenant.Projects["app"].Limits.RequestsPerMinute);
        var key = tenant.Keys["ci"];
        Assert.Equal(("app", "sha256:abababababababababababababababababababababababababababababababab", new DateTimeOffset(2027, 6, 30, 0, 0, 0, TimeSpan.Zero)), (key.ProjectId, key.Hash, key.ExpiresAt!.Value));
        Assert.Equal(200m, key.Level.Budgets.Limit("daily", BudgetUnit.Tokens));
        Assert.Equal(5m, tenant.EndUsers["alice"].Budgets.Limit("monthly", BudgetUnit.Usd));
        Assert.Equal(["project:app", "key:ci", "end_user:alice"], tenant.LevelsOf("app", "ci", "alice").Select(l => l.CounterKey));
    }

    [Theory]
    [InlineData("projects: [ { id: app, budgets: { tokens: { daily: 2000 } } } ]", "the daily tokens budget 2000 of project 'app' is above tenant 't1''s 1000")]
    [InlineData("projects: [ { id: app, budgets: { tokens: { daily: 100 } } } ]\n    keys: [ { id: k, hash: \"sha256:abababababababababababababababababababababababababababababababab\", project: app, budgets: { tokens: { daily: 200 } } } ]", "the daily tokens budget 200 of key 'k' is above project 'app''s 100")]
    [InlineData("keys: [ { id: k, hash: \"sha256:abababababababababababababababababababababababababababababababab\", project: nope } ]", "names project 'nope', which tenant 't1' does not have")]
    [InlineData("end_users: { bob: { limits: { rpm: 11 } } }", "the rpm 11 of end user 'bob' is above tenant 't1''s 10")]
    public void A_level_wider_than_its_parent_is_a_configuration_error_naming_both(string levels, string message)
    {
        var error = Single(Base + "tenants:\n  - id: t1\n    budgets: { tokens: { daily: 1000 } }\n    limits: { rpm: 10 }\n    " + levels + "\n");
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_configuration_with_many_errors_in_two_files_reports_them_all_with_lines()
    {
        const string providers = """
            providers:
              - { id: p1, type: nonsense }
              - { id: p2, type: simulated, api_key: oops }
            """;
        const string catalog = """
            models:
              - { name: good, provider: p2, provider_model: g, capabilities: [chat], context_window: 100, max_output_tokens: 10, pricing: { input: 0, output: 0 } }
              - { name: bad, provider: p9, provider_model: b, capabilities: [chat], context_window: 100, max_output_tokens: 10, pricing: { input: -3, output: 0 } }
            actions:
              - name: act
                requires: [vision]
                strategies:
                  quality: [good, missing]
            """;
        var errors = Errors(("providers.yaml", providers), ("catalog.yaml", catalog));
        var found = errors.Select(e => $"{e.Location.File}:{e.Location.Line}").ToList();
        Assert.Equal(6, errors.Count);
        Assert.Contains("providers.yaml:2", found); // unknown type
        Assert.Contains("providers.yaml:3", found); // api_key in YAML
        Assert.Contains("catalog.yaml:3", found);   // negative price
        Assert.Contains("catalog.yaml:5", found);   // no default strategy
        Assert.Equal(2, found.Count(f => f == "catalog.yaml:8")); // 'good' lacks vision, 'missing' unknown
        Assert.Contains(errors, e => e.Message.Contains("lacks required capability vision", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("unknown model 'missing'", StringComparison.Ordinal));
        var text = new ConfigurationException(errors).Message;
        Assert.Contains("6 error(s)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_provider_whose_key_variable_is_unset_is_disabled_with_a_notice()
    {
        const string yaml = "providers:\n  - { id: oa, type: openai, api_key_env: TEST_OPENAI_KEY }\n  - { id: sim, type: simulated }\n";
        var without = new CatalogLoader(environment: _ => null).Load([("p.yaml", yaml)]);
        Assert.False(without.Catalog.Providers["oa"].Enabled);
        Assert.Contains("TEST_OPENAI_KEY", without.Catalog.Providers["oa"].DisabledReason, StringComparison.Ordinal);
        Assert.Equal("Provider 'oa' is disabled: environment variable TEST_OPENAI_KEY is not set.", Assert.Single(without.Notices));

        var with = new CatalogLoader(environment: name => name == "TEST_OPENAI_KEY" ? "sk-test" : null).Load([("p.yaml", yaml)]);
        Assert.True(with.Catalog.Providers["oa"].Enabled);
        Assert.Empty(with.Notices);
    }

    [Fact]
    public void A_directory_of_files_is_merged()
    {
        var dir = Directory.CreateTempSubdirectory("llmrouter-config-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "1-providers.yaml"), "providers:\n  - { id: sim, type: simulated }\n");
            Directory.CreateDirectory(Path.Combine(dir.FullName, "catalog"));
            File.WriteAllText(Path.Combine(dir.FullName, "catalog", "models.yml"), "models:\n  - { name: m, provider: sim, provider_model: m, capabilities: [chat], context_window: 10, max_output_tokens: 5, pricing: { input: 0, output: 0 } }\n");
            File.WriteAllText(Path.Combine(dir.FullName, "notes.txt"), "ignored");
            var result = new CatalogLoader(environment: _ => null).LoadPath(dir.FullName);
            Assert.Equal(2, result.Files.Count);
            Assert.Equal("sim", result.Catalog.Models["m"].Provider);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
