namespace Orleans.LlmRouter.Core.Catalog;

/// <summary>Where a definition was written: file and 1-based line and column.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    /// <summary>The location of a definition made in code rather than read from a file.</summary>
    public static SourceLocation None { get; } = new("<code>", 0, 0);

    /// <summary>The location as <c>file:line:column</c>.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>Provider types the router knows how to call.</summary>
internal static class ProviderTypes
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";
    public const string Ollama = "ollama";
    public const string Simulated = "simulated";
}

/// <summary>Per-provider (or per-model) limits; null means unlimited.</summary>
public sealed record ProviderLimits(int? RequestsPerMinute = null, long? TokensPerMinute = null, int? MaxConcurrency = null)
{
    /// <summary>No limits.</summary>
    public static ProviderLimits Unlimited { get; } = new();
}

/// <summary>Circuit-breaker thresholds.</summary>
public sealed record BreakerSettings(
    double FailureRatio = 0.5,
    int MinimumCalls = 10,
    TimeSpan? SamplingWindow = null,
    TimeSpan? BreakDuration = null)
{
    /// <summary>The defaults: a failure ratio of 0.5 over at least 10 calls in 30 s opens the circuit for 30 s.</summary>
    public static BreakerSettings Default { get; } = new();

    /// <summary><see cref="SamplingWindow"/>, or 30 s when it is not set.</summary>
    public TimeSpan Window => SamplingWindow ?? TimeSpan.FromSeconds(30);

    /// <summary><see cref="BreakDuration"/>, or 30 s when it is not set.</summary>
    public TimeSpan Break => BreakDuration ?? TimeSpan.FromSeconds(30);
}

/// <summary>Retry policy for transient errors (per model).</summary>
public sealed record RetrySettings(int MaxAttempts = 3, TimeSpan? BaseDelay = null, TimeSpan? MaxDelay = null)
{
    /// <summary>The defaults: 3 attempts, backing off from 250 ms up to 20 s.</summary>
    public static RetrySettings Default { get; } = new();

    /// <summary><see cref="BaseDelay"/>, or 250 ms when it is not set.</summary>
    public TimeSpan Base => BaseDelay ?? TimeSpan.FromMilliseconds(250);

    /// <summary><see cref="MaxDelay"/>, or 20 s when it is not set.</summary>
    public TimeSpan Max => MaxDelay ?? TimeSpan.FromSeconds(20);
}

/// <summary>A provider endpoint. The API key is read from <see cref="ApiKeyEnv"/>, never from YAML.</summary>
public sealed record ProviderDefinition(
    string Id,
    string Type,
    string? BaseUrl,
    string? ApiKeyEnv,
    TimeSpan Timeout,
    int Priority,
    bool Enabled,
    ProviderLimits Limits,
    BreakerSettings Breaker,
    RetrySettings Retry,
    IReadOnlyDictionary<string, string> Options,
    SourceLocation Location)
{
    /// <summary>Why the provider is disabled, when it is (e.g. its key variable is unset).</summary>
    public string? DisabledReason { get; init; }

    /// <summary>When set, the provider grain probes the provider on this interval and feeds the breaker.</summary>
    public TimeSpan? HealthCheckInterval { get; init; }

    /// <summary>
    /// The longest a stream may stay silent once its headers arrived, between chunks (<c>stream_idle_timeout_seconds</c>);
    /// past it the adapter aborts the upstream request and fails with a timeout.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; init; } = DefaultStreamIdleTimeout;

    /// <summary>The idle timeout of a stream when the provider sets none: 60 s.</summary>
    public static TimeSpan DefaultStreamIdleTimeout { get; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// One long-context price tier, USD per one million tokens: it applies to a call whose whole prompt (cache reads and
/// writes included) is above <see cref="ThresholdTokens"/> (e.g. prompts over 200k tokens). Each price means what it
/// means in <see cref="ModelPricing"/>; the catalog loader requires a tier to have every cache and reasoning price its
/// model's base pricing has, so no token silently falls back to the full input price.
/// </summary>
public sealed record LongContextPricing(
    long ThresholdTokens,
    decimal Input,
    decimal Output,
    decimal? CachedInput = null,
    decimal? CacheWrite = null,
    decimal? CacheWrite1h = null,
    decimal? Reasoning = null);

/// <summary>
/// List prices of a model in USD per one million tokens. <see cref="Input"/> prices uncached prompt tokens,
/// <see cref="CachedInput"/> prompt-cache reads, <see cref="CacheWrite"/> prompt-cache writes with the default
/// (five-minute) TTL and <see cref="CacheWrite1h"/> those with a one-hour TTL; <see cref="Output"/> prices completion
/// tokens and <see cref="Reasoning"/> the reasoning/thinking part of them when the provider prices it differently.
/// An unset price falls back as <see cref="Pricing.CostCalculator"/> documents. <see cref="LongContext"/> holds the
/// long-context tiers in strictly increasing threshold order (empty: one price at every prompt size).
/// </summary>
public sealed record ModelPricing(
    decimal Input,
    decimal Output,
    decimal? CachedInput = null,
    decimal? CacheWrite = null,
    decimal? CacheWrite1h = null,
    decimal? Reasoning = null)
{
    /// <summary>A model that costs nothing (local models).</summary>
    public static ModelPricing Free { get; } = new(0m, 0m, 0m);

    /// <summary>Long-context tiers, thresholds strictly increasing; the highest one the prompt is above applies.</summary>
    public IReadOnlyList<LongContextPricing> LongContext { get; init; } = [];
}

/// <summary>A logical model name mapped to one provider's model.</summary>
public sealed record ModelDefinition(
    string Name,
    string Provider,
    string ProviderModel,
    IReadOnlySet<Capability> Capabilities,
    int ContextWindow,
    int MaxOutputTokens,
    ModelPricing Pricing,
    string? Tier,
    SourceLocation Location,
    ProviderLimits? Limits = null,
    BreakerSettings? Breaker = null)
{
    /// <summary>True when the model has <paramref name="capability"/>.</summary>
    public bool Has(Capability capability) => Capabilities.Contains(capability);

    /// <summary>
    /// Other names the model answers to (YAML <c>aliases</c>), e.g. the model ids Claude Code or Codex send by default;
    /// unique across model names and aliases (the loader checks).
    /// </summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>
    /// True when the model has its own rate limits or circuit breaker, on top of its provider's; a deployment view
    /// (<see cref="Deployment"/> set) always has its own scope.
    /// </summary>
    public bool HasOwnScope => Limits is not null || Breaker is not null || Deployment is not null;

    /// <summary>
    /// The model's deployments when it lists several (<c>deployments:</c>); empty for the single-provider form, where
    /// <see cref="Provider"/> and <see cref="ProviderModel"/> are the one implicit deployment. When set,
    /// <see cref="Provider"/> and <see cref="ProviderModel"/> are those of the first deployment.
    /// </summary>
    public IReadOnlyList<DeploymentDefinition> Deployments { get; init; } = [];

    /// <summary>How the deployments are balanced (<c>balance:</c>, default weighted).</summary>
    public BalanceStrategy Balance { get; init; } = BalanceStrategy.Weighted;

    /// <summary>Set on the view of one deployment (<see cref="ViewOf"/>): the deployment this definition calls.</summary>
    public DeploymentDefinition? Deployment { get; init; }

    /// <summary>
    /// This model as one of its deployments serves it: the deployment's provider, provider model, limits, breaker and
    /// prices (the model's when the deployment sets none); same name and capabilities.
    /// </summary>
    public ModelDefinition ViewOf(DeploymentDefinition deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return this with
        {
            Provider = deployment.Provider,
            ProviderModel = deployment.ProviderModel,
            Pricing = deployment.Pricing ?? Pricing,
            Limits = deployment.Limits,
            Breaker = deployment.Breaker,
            Deployment = deployment,
            Deployments = [],
        };
    }
}

/// <summary>
/// Per-model provider state: a model with its own <c>limits</c> or <c>circuit_breaker</c> gets a second scope, with id
/// <c>model@provider</c>, admitted and reported next to its provider's scope. Same provider type, URL and retry; its own
/// limits (none when unset) and breaker (one that never opens when unset, so only the provider's breaker trips).
/// </summary>
internal static class ModelScopes
{
    /// <summary>A breaker that never opens (a model scope with limits only).</summary>
    public static BreakerSettings NeverOpens { get; } = new(1.0, int.MaxValue);

    /// <summary><c>model@provider</c>, or <c>model@deployment</c> for a deployment view.</summary>
    public static string IdOf(ProviderDefinition provider, ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        return model.Name + "@" + (model.Deployment?.Id ?? provider.Id);
    }

    /// <summary>
    /// The model's own scope, or null when it has none. A deployment's scope has the deployment's limits and its own
    /// breaker (the deployment's settings, else its provider's), so one deployment's failures open only its circuit.
    /// </summary>
    public static ProviderDefinition? For(ProviderDefinition provider, ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        if (!model.HasOwnScope)
        {
            return null;
        }

        var breaker = model.Breaker ?? (model.Deployment is not null ? provider.Breaker : NeverOpens);
        return provider with { Id = IdOf(provider, model), Limits = model.Limits ?? ProviderLimits.Unlimited, Breaker = breaker, HealthCheckInterval = null };
    }
}

/// <summary>A kind of work with required capabilities and named strategy chains (<c>default</c> mandatory).</summary>
internal sealed record ActionDefinition(
    string Name,
    string? Description,
    IReadOnlySet<Capability> Requires,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Strategies,
    SourceLocation Location)
{
    public const string DefaultStrategy = "default";
}

/// <summary>
/// Budget limits of a tenant: a map (window name, unit) → limit, the window a name of
/// <see cref="Budgets.BudgetWindows.All"/> or <see cref="Budgets.BudgetWindows.Run"/>. A missing entry means no limit.
/// </summary>
internal sealed record TenantBudgets
{
    private readonly Dictionary<(string Window, Budgets.BudgetUnit Unit), decimal> _limits;

    public TenantBudgets(IEnumerable<KeyValuePair<(string Window, Budgets.BudgetUnit Unit), decimal>> limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = new(limits);
    }

    public static TenantBudgets None { get; } = new([]);

    /// <summary>Every limit.</summary>
    public IReadOnlyDictionary<(string Window, Budgets.BudgetUnit Unit), decimal> Limits => _limits;

    /// <summary>Limits from (window, unit, limit) triples, e.g. <c>Of(("daily", BudgetUnit.Tokens, 1000))</c>.</summary>
    public static TenantBudgets Of(params (string Window, Budgets.BudgetUnit Unit, decimal Limit)[] limits) =>
        new((limits ?? []).Select(l => KeyValuePair.Create((l.Window, l.Unit), l.Limit)));

    /// <summary>The limit of <paramref name="window"/> in <paramref name="unit"/>, or null for none.</summary>
    public decimal? Limit(string window, Budgets.BudgetUnit unit) => _limits.TryGetValue((window, unit), out var l) ? l : null;

    /// <summary>The token limit as a whole number (as reported), or null.</summary>
    public long? TokenLimit(string window) => Limit(window, Budgets.BudgetUnit.Tokens) is { } l ? (long)l : null;

    public bool Equals(TenantBudgets? other) =>
        other is not null && _limits.Count == other._limits.Count && _limits.All(kv => other._limits.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public override int GetHashCode() => _limits.Aggregate(_limits.Count, (h, kv) => h ^ HashCode.Combine(kv.Key, kv.Value));
}

/// <summary>A tenant: hashed API keys, budgets, limits and what it may use.</summary>
internal sealed record TenantDefinition(
    string Id,
    string? DisplayName,
    IReadOnlyList<string> KeyHashes,
    TenantBudgets Budgets,
    ProviderLimits Limits,
    IReadOnlySet<string> AllowedModels,
    IReadOnlySet<string> AllowedActions,
    decimal SoftAlertThreshold,
    string TimeZone,
    SourceLocation Location)
{
    /// <summary>Where soft alerts are POSTed (JSON), in addition to the log line; null for log only.</summary>
    public string? AlertWebhook { get; init; }

    public bool MayUseModel(string model) => AllowedModels.Count == 0 || AllowedModels.Contains(model);

    public bool MayUseAction(string action) => AllowedActions.Count == 0 || AllowedActions.Contains(action);
}
