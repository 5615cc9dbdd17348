using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Providers;

namespace Orleans.LlmRouter.Grains.Telemetry;

/// <summary>
/// The router's spans and instruments. Spans: <c>llmrouter.route {operation}</c> per request, <c>chat {model}</c> (or
/// <c>embeddings {model}</c>) per upstream attempt with the GenAI attributes, and <c>llmrouter.budget.reserve</c> /
/// <c>llmrouter.budget.settle</c> (the settle holds the ledger commit). Every method returns at once, building no tag
/// list, when nothing listens (<see cref="ActivitySource.HasListeners"/>, <see cref="Instrument.Enabled"/>). No prompt
/// or completion text is recorded unless <see cref="TelemetryOptions.RecordContent"/> says so; no key ever.
/// </summary>
internal sealed class RouterTelemetry : IDisposable
{
    internal static readonly ActivitySource Source = new(LlmRouterTelemetry.Name);

    private const string Other = "other";
    private readonly Meter _meter;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _clientDuration;
    private readonly Histogram<double> _serverDuration;
    private readonly Histogram<double> _ttft;
    private readonly Histogram<double> _overhead;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _budgetRejections;
    private readonly Counter<long> _cacheRequests;
    private readonly Counter<double> _cacheSaved;
    private readonly Counter<long> _rateLimitRejections;
    private readonly ObservableGauge<double> _budgetRemaining;
    private readonly ConcurrentDictionary<string, byte> _tenants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Measurement<double>[]> _headroom = new(StringComparer.Ordinal);
    private readonly int _maxTenants;

    public RouterTelemetry(IMeterFactory? meters, IOptions<TelemetryOptions>? options, ProviderGate gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        RecordContent = options?.Value.RecordContent ?? false;
        _maxTenants = Math.Max(0, options?.Value.MaxTenantLabels ?? 100);
        _meter = meters?.Create(LlmRouterTelemetry.Name) ?? new Meter(LlmRouterTelemetry.Name);
        _tokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens billed per ledger row, by gen_ai.token.type (input, output).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });
        _clientDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of one upstream attempt.", advice: Seconds());
        _serverDuration = _meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Duration of a routed request, all attempts included.", advice: Seconds());
        _ttft = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from the request to the first streamed chunk.", advice: Seconds());
        _overhead = _meter.CreateHistogram<double>("llmrouter.gateway.overhead", "s", "Time of a successful request not spent in upstream attempts (routing, budget, ledger).", advice: Seconds());
        _cost = _meter.CreateCounter<double>("llmrouter.cost_usd", null, "Spend in USD as billed to the ledger, by tenant, model and provider.");
        _requests = _meter.CreateCounter<long>("llmrouter.requests", "{request}", "Routed requests by outcome and error class.");
        _retries = _meter.CreateCounter<long>("llmrouter.retries", "{attempt}", "Repeated attempts on the same model (transient errors).");
        _fallbacks = _meter.CreateCounter<long>("llmrouter.fallbacks", "{attempt}", "Moves to the next candidate model, by the reason the previous one failed.");
        _budgetRejections = _meter.CreateCounter<long>("llmrouter.budget.rejections", "{rejection}", "Candidates (and requests) refused by a tenant budget.");
        _cacheRequests = _meter.CreateCounter<long>("llmrouter.cache.requests", "{request}", "Requests that used the response cache, by llmrouter.cache.status (hit, coalesced, miss).");
        _cacheSaved = _meter.CreateCounter<double>("llmrouter.cache.saved_usd", null, "Upstream spend the response cache saved, in USD, by tenant.");
        _rateLimitRejections = _meter.CreateCounter<long>("llmrouter.rate_limit.rejections", "{rejection}", "Attempts refused by a provider's rate or concurrency limit, locally or upstream.");
        _meter.CreateObservableGauge("llmrouter.breaker.state", () => Scopes(gate, s => (int)s.State), null, "Circuit breaker per provider scope: 0 closed, 1 open, 2 half-open.");
        _meter.CreateObservableGauge("llmrouter.provider.in_flight", () => Scopes(gate, s => s.InFlight), "{request}", "Calls in flight from this silo per provider scope.");
        _meter.CreateObservableGauge("llmrouter.provider.lease_headroom", () => Scopes(gate, s => s.LeaseRequests), "{request}", "Requests left in this silo's local rate lease per provider scope.");
        _budgetRemaining = _meter.CreateObservableGauge("llmrouter.budget.remaining", () => _headroom.Values.SelectMany(m => m), null,
            "Budget left per tenant, window and unit (limit minus settled usage), from the budget grains active on this silo.");
    }

    /// <summary>
    /// Publishes a tenant's budget left per window and unit for <c>llmrouter.budget.remaining</c>; the tenant's budget
    /// grain calls it when its counters change. Does nothing when no listener reads the gauge, or for tenants past the
    /// label cap (a sum of several tenants' headroom would mean nothing).
    /// </summary>
    public void PublishBudgetRemaining(string tenantId, IEnumerable<(string Window, string Unit, double Remaining)> remaining)
    {
        ArgumentNullException.ThrowIfNull(remaining);
        if (!_budgetRemaining.Enabled || TenantLabel(tenantId) == Other)
        {
            return;
        }

        _headroom[tenantId] = remaining.Select(r => new Measurement<double>(r.Remaining, new TagList
        {
            { "llmrouter.tenant", tenantId },
            { "llmrouter.budget.window", r.Window },
            { "llmrouter.budget.unit", r.Unit },
        })).ToArray();
    }

    /// <summary>Whether a listener reads <c>llmrouter.budget.remaining</c> (the budget grains skip publishing otherwise).</summary>
    public bool BudgetRemainingEnabled => _budgetRemaining.Enabled;

    /// <summary>Stops reporting a tenant's budget left (its budget grain left this silo).</summary>
    public void RemoveBudgetRemaining(string tenantId) => _headroom.TryRemove(tenantId, out _);

    /// <summary>Whether prompt and completion text may go on spans.</summary>
    public bool RecordContent { get; }

    /// <summary>The tenant as a metric label: itself for the first <see cref="TelemetryOptions.MaxTenantLabels"/> tenants seen, <c>other</c> after.</summary>
    public string TenantLabel(string tenantId)
    {
        if (_tenants.ContainsKey(tenantId))
        {
            return tenantId;
        }

        if (_tenants.Count >= _maxTenants)
        {
            return Other;
        }

        _tenants.TryAdd(tenantId, 0);
        return tenantId;
    }

    /// <summary>The request's span; null when nothing listens.</summary>
    public static Activity? StartRequest(string operation, RouterContext context)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var span = Source.StartActivity("llmrouter.route " + operation, ActivityKind.Internal);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("gen_ai.operation.name", operation);
            span.SetTag("llmrouter.tenant", context.TenantId);
            span.SetTag("llmrouter.request_id", context.RequestId);
            span.SetTag("gen_ai.request.model", context.Model);
            span.SetTag("llmrouter.action", context.Action);
            span.SetTag("llmrouter.strategy", context.Strategy);
            span.SetTag("llmrouter.run_id", context.RunId);
        }

        return span;
    }

    /// <summary>One attempt's span (<c>chat {model}</c>), the current activity for the adapter's HTTP call; null when nothing listens.</summary>
    public static Activity? StartAttempt(string operation, ModelDefinition model, ProviderDefinition provider, int attempt, long? maxTokens, string? fallbackReason)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var span = Source.StartActivity(operation + " " + model.ProviderModel, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("gen_ai.operation.name", operation);
            span.SetTag("gen_ai.provider.name", provider.Type);
            span.SetTag("llmrouter.provider", provider.Id);
            span.SetTag("llmrouter.model", model.Name);
            span.SetTag("gen_ai.request.model", model.ProviderModel);
            span.SetTag("llmrouter.attempt", attempt);
            if (maxTokens is { } max)
            {
                span.SetTag("gen_ai.request.max_tokens", max);
            }

            if (fallbackReason is not null)
            {
                span.SetTag("llmrouter.fallback_reason", fallbackReason);
            }
        }

        return span;
    }

    /// <summary>A child span of the current one (budget reserve and settle); null when nothing listens.</summary>
    public static Activity? StartChild(string name, Activity? parent) =>
        Source.HasListeners() ? Source.StartActivity(name, ActivityKind.Internal, parent?.Context ?? default) : null;

    /// <summary>The silo's gate refused the attempt (breaker open, rate or concurrency limit spent).</summary>
    public void GateDenied(Activity? span, ProviderDefinition provider, string? denied)
    {
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("error.type", "unavailable");
            span.SetStatus(ActivityStatusCode.Error, "unavailable");
        }

        var limited = denied is not null && (denied.Contains("rate limit", StringComparison.Ordinal) || denied.Contains("max concurrency", StringComparison.Ordinal));
        if (limited && _rateLimitRejections.Enabled)
        {
            _rateLimitRejections.Add(1, new TagList { { "llmrouter.provider", provider.Id }, { "llmrouter.source", "gateway" } });
        }
    }

    /// <summary>An attempt got an answer: its usage on the span and its duration.</summary>
    public void AttemptAnswered(Activity? span, string operation, ModelDefinition model, ProviderDefinition provider, TokenUsage usage, ProviderErrorClass? rejectedClass, double ms)
    {
        var rejected = rejectedClass?.Name();
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("gen_ai.response.model", model.ProviderModel);
            span.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
            span.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            if (rejected is not null)
            {
                span.SetTag("error.type", rejected);
                span.SetStatus(ActivityStatusCode.Error, rejected);
            }
        }

        if (_clientDuration.Enabled)
        {
            _clientDuration.Record(ms / 1000, Tags(operation, provider, model, rejected));
        }
    }

    /// <summary>An attempt failed with <paramref name="error"/> (HTTP status when the provider answered one).</summary>
    public void AttemptFailed(Activity? span, string operation, ModelDefinition model, ProviderDefinition provider, ProviderErrorClass error, int? status, double ms)
    {
        var errorClass = error.Name();
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("error.type", errorClass);
            if (status is { } s)
            {
                span.SetTag("http.response.status_code", s);
            }

            span.SetStatus(ActivityStatusCode.Error, errorClass);
        }

        if (error == ProviderErrorClass.RateLimited && _rateLimitRejections.Enabled)
        {
            _rateLimitRejections.Add(1, new TagList { { "llmrouter.provider", provider.Id }, { "llmrouter.source", "upstream" } });
        }

        if (_clientDuration.Enabled)
        {
            _clientDuration.Record(ms / 1000, Tags(operation, provider, model, errorClass));
        }
    }

    /// <summary>The attempt is a retry of the same model (attempt &gt; 1) or a fallback to the next (first try of a later candidate).</summary>
    public void AttemptStarting(ModelDefinition model, ProviderDefinition provider, bool retry, string? fallbackReason)
    {
        if (retry && _retries.Enabled)
        {
            _retries.Add(1, new TagList { { "llmrouter.provider", provider.Id }, { "llmrouter.model", model.Name } });
        }
        else if (fallbackReason is not null && _fallbacks.Enabled)
        {
            _fallbacks.Add(1, new TagList { { "llmrouter.fallback_reason", fallbackReason }, { "llmrouter.model", model.Name } });
        }
    }

    /// <summary>A ledger row was settled: its tokens and cost (so the metric sums equal the ledger's).</summary>
    public void Billed(UsageRecord record, ProviderDefinition provider, string tenantId)
    {
        if (_tokens.Enabled)
        {
            var input = new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.provider.name", provider.Type }, { "gen_ai.request.model", record.Model }, { "gen_ai.token.type", "input" }, { "llmrouter.tenant", TenantLabel(tenantId) } };
            _tokens.Record(record.Usage.PromptTokens, input);
            var output = new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.provider.name", provider.Type }, { "gen_ai.request.model", record.Model }, { "gen_ai.token.type", "output" }, { "llmrouter.tenant", TenantLabel(tenantId) } };
            _tokens.Record(record.Usage.CompletionTokens, output);
        }

        if (_cost.Enabled && record.CostUsd != 0m)
        {
            _cost.Add((double)record.CostUsd, new TagList { { "llmrouter.tenant", TenantLabel(tenantId) }, { "llmrouter.model", record.Model }, { "llmrouter.provider", provider.Id } });
        }
    }

    /// <summary>A request used the response cache (<paramref name="status"/>: hit, coalesced or miss), saving <paramref name="savedUsd"/>.</summary>
    public void CacheUsed(string tenantId, string status, decimal savedUsd)
    {
        if (_cacheRequests.Enabled)
        {
            _cacheRequests.Add(1, new TagList { { "llmrouter.tenant", TenantLabel(tenantId) }, { "llmrouter.cache.status", status } });
        }

        if (_cacheSaved.Enabled && savedUsd != 0m)
        {
            _cacheSaved.Add((double)savedUsd, new KeyValuePair<string, object?>("llmrouter.tenant", TenantLabel(tenantId)));
        }
    }

    /// <summary>A tenant budget refused a candidate.</summary>
    public void BudgetRejected(string tenantId)
    {
        if (_budgetRejections.Enabled)
        {
            _budgetRejections.Add(1, new KeyValuePair<string, object?>("llmrouter.tenant", TenantLabel(tenantId)));
        }
    }

    /// <summary>The first streamed chunk left after <paramref name="ms"/>.</summary>
    public void FirstToken(Activity? span, ModelDefinition model, double ms)
    {
        span?.SetTag("llmrouter.ttft_ms", ms);
        if (_ttft.Enabled)
        {
            _ttft.Record(ms / 1000, new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.request.model", model.ProviderModel } });
        }
    }

    /// <summary>The request succeeded on <paramref name="model"/>: the outcome, its duration and the gateway's own share of it.</summary>
    public void Succeeded(Activity? span, string operation, RouterContext context, ModelDefinition model, ProviderDefinition provider, TokenUsage usage, decimal cost, string? finishReason, IReadOnlyList<AttemptRecord> attempts, double ms)
    {
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("gen_ai.provider.name", provider.Type);
            span.SetTag("gen_ai.response.model", model.ProviderModel);
            span.SetTag("llmrouter.model", model.Name);
            span.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
            span.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            span.SetTag("llmrouter.cost_usd", (double)cost);
            span.SetTag("llmrouter.attempts", attempts.Count);
            span.SetTag("llmrouter.cache_hit", usage.CachedTokens > 0);
            if (finishReason is not null)
            {
                span.SetTag("gen_ai.response.finish_reasons", new[] { finishReason });
            }
        }

        Outcome(operation, context, "success", null);
        if (_serverDuration.Enabled)
        {
            _serverDuration.Record(ms / 1000, Tags(operation, provider, model, null));
        }

        if (_overhead.Enabled)
        {
            var upstream = 0.0;
            foreach (var a in attempts)
            {
                upstream += a.LatencyMs;
            }

            _overhead.Record(Math.Max(0, ms - upstream) / 1000, new KeyValuePair<string, object?>("gen_ai.operation.name", operation));
        }
    }

    /// <summary>The request failed with <paramref name="error"/>, returned for throwing.</summary>
    public Exception Failed(Activity? span, string operation, RouterContext context, Exception error)
    {
        var errorType = error switch
        {
            BudgetExceededException => "budget_exceeded",
            AllModelsFailedException all when all.Attempts.Count > 0 && all.Attempts[^1].ErrorClass is { } last => last.Name(),
            AllModelsFailedException => "no_eligible_model",
            _ => error.GetType().Name,
        };
        if (error is BudgetExceededException)
        {
            BudgetRejected(context.TenantId);
        }

        Errored(span, operation, context, errorType);
        return error;
    }

    /// <summary>The request ended in error <paramref name="errorType"/> (a stream cut after its first chunk, say).</summary>
    public void Errored(Activity? span, string operation, RouterContext context, string errorType)
    {
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("error.type", errorType);
            span.SetStatus(ActivityStatusCode.Error, errorType);
        }

        Outcome(operation, context, "error", errorType);
    }

    public void Dispose() => _meter.Dispose();

    private void Outcome(string operation, RouterContext context, string outcome, string? errorType)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, new TagList
            {
                { "gen_ai.operation.name", operation },
                { "llmrouter.outcome", outcome },
                { "error.type", errorType ?? "none" },
                { "llmrouter.tenant", TenantLabel(context.TenantId) },
                { "llmrouter.action", context.Action ?? "none" },
            });
        }
    }

    private static TagList Tags(string operation, ProviderDefinition provider, ModelDefinition model, string? errorType)
    {
        var tags = new TagList { { "gen_ai.operation.name", operation }, { "gen_ai.provider.name", provider.Type }, { "gen_ai.request.model", model.ProviderModel }, { "llmrouter.provider", provider.Id } };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        return tags;
    }

    private static IEnumerable<Measurement<int>> Scopes(ProviderGate gate, Func<(string Scope, ProviderCircuitState State, int InFlight, int LeaseRequests), int> value)
    {
        foreach (var scope in gate.LocalScopes())
        {
            yield return new Measurement<int>(value(scope), new KeyValuePair<string, object?>("llmrouter.provider_scope", scope.Scope));
        }
    }

    private static InstrumentAdvice<double> Seconds() =>
        new() { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] };
}
