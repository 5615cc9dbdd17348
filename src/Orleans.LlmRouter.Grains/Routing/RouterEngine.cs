using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Core.Tokens;
using Orleans.LlmRouter.Core.Validation;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Grains.Telemetry;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// The router's work, silo-local and off any grain's scheduler: for each candidate of a request it owns one attempt
/// loop's bookkeeping — reservation, permit, attempt record, outcome, release or settle, ledger row — for complete,
/// stream and embed alike. Every piece held across a call (<see cref="Reservation"/>, <see cref="Attempt"/>) is an
/// <see cref="IAsyncDisposable"/> whose disposal gives it back unless it was settled, so no exception type, cancellation
/// or early exit can leak a reservation, a concurrency slot or a half-open probe. Any failure of an adapter that is not
/// a <see cref="ProviderException"/> becomes <see cref="ProviderErrorClass.UpstreamInvalidResponse"/> and falls back.
/// </summary>
internal sealed partial class RouterEngine
{
    private readonly RouterServices services;
    private readonly IGrainFactory grains;
    private readonly ReservationKeeper keeper;
    private readonly ILogger<RouterEngine> logger;
    private readonly GrainCalls calls;
    private long _tenantRefreshedAt;

    private readonly RequestLimitsOptions limits;
    private readonly RouterTelemetry telemetry;

    public RouterEngine(RouterServices services, IGrainFactory grains, ReservationKeeper keeper, GrainCalls calls, Microsoft.Extensions.Options.IOptions<RequestLimitsOptions> limits, RouterTelemetry telemetry, ILogger<RouterEngine> logger)
    {
        this.telemetry = telemetry;
        this.limits = limits.Value;
        this.calls = calls;
        this.services = services;
        this.grains = grains;
        this.keeper = keeper;
        this.logger = logger;
    }

    /// <summary>
    /// Completes a chat request; <paramref name="cacheStatus"/> says how the response cache takes part
    /// (<see cref="CacheStatus.Miss"/> when this call fills it), for the ledger row; null when it does not.
    /// </summary>
    public async Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken, string? cacheStatus = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        using var routeSpan = RouterTelemetry.StartRequest("chat", context);
        var run = await StartAsync(request, context, routeSpan, cacheStatus);
        var queue = new List<RouteCandidate>(run.Plan.Eligible);
        for (var i = 0; i < queue.Count; i++)
        {
            if (!run.Expand(queue, i))
            {
                break;
            }

            var candidate = queue[i];
            await using var reservation = await run.ReserveAsync(candidate, i);
            if (reservation is null)
            {
                continue;
            }

            var (model, provider, tokens) = (reservation.Model, reservation.Provider, reservation.Tokens);
            var index = i;

            var adapter = services.Providers.Get(provider.Id);
            var call = new ProviderCall(request, model, provider);
            (ProviderResponse Response, string? Invalid) answer;
            try
            {
                answer = await services.RetryPipelineFor(provider).ExecuteAsync(
                    async token =>
                    {
                        using var attemptSpan = run.StartAttempt(index, model, provider, request.MaxOutputTokens);
                        await using var attempt = await run.AdmitAsync(provider, model, tokens, attemptSpan);
                        ProviderResponse r;
                        try
                        {
                            r = await adapter.CompleteAsync(call, token);
                        }
                        catch (Exception ex) when (attempt.Failed(ex, token) is { } typed)
                        {
                            throw typed;
                        }

                        r = r with { Usage = UsageOf(r, model, candidate) };
                        var problem = StructuredOutputProblem(request, r);
                        attempt.Answered(r.Usage, problem is null ? null : ProviderErrorClass.StructuredOutput, problem);
                        return (r, problem);
                    },
                    ct);
            }
            catch (ProviderException ex)
            {
                // Permanent error, or transient retries spent: next candidate (a long-context one first after a
                // context-length error). The reservation goes back when it is disposed.
                if (ex.ErrorClass == ProviderErrorClass.ContextLengthExceeded)
                {
                    PreferLongContext(queue, i);
                }

                continue;
            }

            var usage = answer.Response.Usage;
            var cost = Cost(model, usage);
            if (answer.Invalid is not null)
            {
                // The provider answered and charged for it: billed as a failed attempt, then the next candidate.
                await reservation.SettleAsync(run.Record(model, provider, usage, cost, false, ProviderErrorClass.StructuredOutput, null) with
                {
                    RequestId = run.AttemptRowId(),
                });
                continue;
            }

            var latency = Ms(run.Started);

            // The ledger row is durable before the response goes back (invariant B2, no lost spend).
            await reservation.SettleAsync(run.Record(model, provider, usage, cost, true, null, null));
            telemetry.Succeeded(routeSpan, "chat", context, model, provider, usage, cost, answer.Response.FinishReason, run.Attempts, latency);
            if (telemetry.RecordContent)
            {
                routeSpan?.SetTag("gen_ai.input.messages", request.Messages[^1].Text);
                routeSpan?.SetTag("gen_ai.output.messages", answer.Response.Message.Text);
            }

            return new ChatCompletion(
                "chatcmpl-" + context.RequestId,
                model.Name,
                provider.Id,
                model.ProviderModel,
                answer.Response.Message,
                answer.Response.FinishReason,
                usage,
                cost,
                run.Attempts,
                latency,
                services.Time.GetUtcNow())
            {
                Deployment = model.Deployment?.Id,
                Cache = cacheStatus,
            };
        }

        throw telemetry.Failed(run.Span, run.Operation, context, await run.FailAsync());
    }

    /// <summary>Streams a chat request; <paramref name="cacheStatus"/> as for <see cref="CompleteAsync"/>.</summary>
    public async IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, [EnumeratorCancellation] CancellationToken cancellationToken, string? cacheStatus = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        using var routeSpan = RouterTelemetry.StartRequest("chat", context);
        var run = await StartAsync(request, context, routeSpan, cacheStatus);
        var queue = new List<RouteCandidate>(run.Plan.Eligible);
        for (var i = 0; i < queue.Count; i++)
        {
            if (!run.Expand(queue, i))
            {
                break;
            }

            var candidate = queue[i];
            await using var reservation = await run.ReserveAsync(candidate, i);
            if (reservation is null)
            {
                continue;
            }

            var (model, provider, tokens) = (reservation.Model, reservation.Provider, reservation.Tokens);

            using var attemptSpan = run.StartAttempt(i, model, provider, request.MaxOutputTokens);
            Attempt? admitted;
            try
            {
                admitted = await run.AdmitAsync(provider, model, tokens, attemptSpan);
            }
            catch (ProviderException)
            {
                continue;
            }

            await using var attempt = admitted;
            await using var stream = new GuardedStream(services.Providers.Get(provider.Id).StreamAsync(new ProviderCall(request, model, provider), ct), attempt, ct);

            // Before the first chunk reaches the caller, a failure falls back to the next candidate.
            var first = await stream.NextAsync();
            if (first is null)
            {
                var failure = stream.Failure ?? attempt.FailWith(ProviderErrorClass.UpstreamInvalidResponse, "the stream ended before any chunk");
                if (failure.ErrorClass == ProviderErrorClass.ContextLengthExceeded)
                {
                    PreferLongContext(queue, i);
                }

                continue;
            }

            // From the first chunk on, this model owns the stream. Whatever ends it — completion, an upstream failure, a
            // stall, or the caller walking away — what was generated is settled and recorded (invariant B3).
            var ttft = Ms(run.Started);
            telemetry.FirstToken(attemptSpan, model, ttft);
            var tally = new StreamTally();
            TokenUsage? finalUsage = null;
            var ended = false;
            try
            {
                var chunk = first;
                var includeRoute = true;
                while (chunk is not null)
                {
                    tally.Add(chunk);
                    finalUsage = chunk.Usage;
                    if (chunk.FinishReason is not null && chunk.Usage is null)
                    {
                        // Hold the finish until we know whether usage follows or the provider reports none (then estimate).
                        var next = await stream.NextAsync();
                        if (next is null && stream.Failure is null)
                        {
                            finalUsage = tally.Estimate(services, model, candidate.EstimatedPromptTokens);
                            ended = true;
                            yield return ToItem(chunk with { Usage = finalUsage }, model, provider, includeRoute);
                            break;
                        }

                        yield return ToItem(chunk, model, provider, includeRoute);
                        includeRoute = false;
                        chunk = next;
                        continue;
                    }

                    yield return ToItem(chunk, model, provider, includeRoute);
                    includeRoute = false;
                    if (finalUsage is not null)
                    {
                        ended = true;
                        break;
                    }

                    chunk = await stream.NextAsync();
                }

                if (!ended && stream.Failure is null)
                {
                    // The provider closed the stream normally without usage and without a finish: count what came.
                    finalUsage = tally.Estimate(services, model, candidate.EstimatedPromptTokens);
                    ended = true;
                    yield return new ChatStreamItem { Usage = finalUsage, CostUsd = Cost(model, finalUsage) };
                }

                if (stream.Failure is { } failure)
                {
                    var partial = tally.Estimate(services, model, candidate.EstimatedPromptTokens);
                    yield return new ChatStreamItem
                    {
                        FinishReason = "error",
                        Usage = partial,
                        CostUsd = Cost(model, partial),
                        ErrorClass = failure.ErrorClass,
                        ErrorMessage = failure.ProviderMessage,
                    };
                }
            }
            finally
            {
                var failure = stream.Failure;
                var ok = ended && failure is null;
                var usage = ok && finalUsage is not null ? finalUsage : tally.Estimate(services, model, candidate.EstimatedPromptTokens);
                var errorClass = failure?.ErrorClass ?? (ok ? null : ProviderErrorClass.Cancelled);
                if (ok)
                {
                    attempt.Answered(usage, null, null);
                }
                else if (failure is null)
                {
                    attempt.Abandoned();
                }

                await reservation.SettleAsync(run.Record(model, provider, usage, Cost(model, usage), ok, errorClass, ttft));
                if (ok)
                {
                    telemetry.Succeeded(routeSpan, "chat", context, model, provider, usage, Cost(model, usage), null, run.Attempts, Ms(run.Started));
                }
                else
                {
                    telemetry.Errored(routeSpan, "chat", context, (errorClass ?? ProviderErrorClass.Cancelled).Name());
                }
            }

            yield break;
        }

        throw telemetry.Failed(run.Span, run.Operation, context, await run.FailAsync());
    }

    public async Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RouterContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        if (request.Inputs.Count == 0)
        {
            throw new InvalidRoutingException("input must contain at least one text.") { Param = "input" };
        }

        RequestLimits.Validate(request, limits);

        (var tenant, context, var levels) = await ScopeAsync(context);
        var prompt = request.Inputs.Sum(TokenEstimator.EstimateText);
        var query = new RouteQuery
        {
            Model = context.Model,
            Action = context.Action ?? (context.Model is null or RouteQuery.Auto ? "embedding" : null),
            Strategy = context.Strategy,
            Needs = new HashSet<Capability> { Capability.Embedding },
            EstimatedPromptTokens = prompt,
            MaxOutputTokens = 0,
            MaxCostUsd = context.MaxCostUsd,
            Tenant = tenant,
            Levels = levels,
        };
        using var routeSpan = RouterTelemetry.StartRequest("embeddings", context);
        var run = new RouteRun(this, context, Plan(query), "embeddings") { Span = routeSpan };
        var candidates = run.Plan.Eligible.Where(c => c.Model.Has(Capability.Embedding)).ToList();
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!run.Expand(candidates, i))
            {
                break;
            }

            var model = candidates[i].Model;
            var provider = services.Catalog.ProviderOf(model);
            var index = i;
            await using var reservation = await run.ReserveAsync(model, provider, prompt, candidates[i].EstimatedCostUsd, i);
            if (reservation is null)
            {
                continue;
            }

            EmbeddingResponse response;
            try
            {
                response = await services.RetryPipelineFor(provider).ExecuteAsync(
                    async token =>
                    {
                        using var attemptSpan = run.StartAttempt(index, model, provider, null);
                        await using var attempt = await run.AdmitAsync(provider, model, prompt, attemptSpan);
                        try
                        {
                            var r = await services.Providers.Get(provider.Id).EmbedAsync(new EmbeddingCall(request.Inputs, model, provider, request.Dimensions), token);
                            attempt.Answered(new TokenUsage(r.PromptTokens, 0), null, null);
                            return r;
                        }
                        catch (Exception ex) when (attempt.Failed(ex, token) is { } typed)
                        {
                            throw typed;
                        }
                    },
                    ct);
            }
            catch (ProviderException)
            {
                continue;
            }

            var usage = new TokenUsage(response.PromptTokens, 0);
            var cost = Cost(model, usage);
            await reservation.SettleAsync(run.Record(model, provider, usage, cost, true, null, null));
            telemetry.Succeeded(routeSpan, "embeddings", context, model, provider, usage, cost, null, run.Attempts, Ms(run.Started));
            return new EmbeddingResult(model.Name, provider.Id, response.Vectors, usage, cost, run.Attempts) { Deployment = model.Deployment?.Id };
        }

        throw telemetry.Failed(run.Span, run.Operation, context, await run.FailAsync());
    }

    public async Task<RouteExplanation> ExplainAsync(ChatRequest request, RouterContext context)
    {
        var (plan, query, _) = await PlanForAsync(request, context, throwIfNone: false);
        var eligible = plan.Eligible.ToList();
        var chosen = eligible.FirstOrDefault();
        return new RouteExplanation(
            chosen?.Model.Name,
            eligible.Skip(1).Select(c => c.Model.Name).ToList(),
            chosen?.EstimatedPromptTokens ?? query.EstimatedPromptTokens,
            chosen?.ReservedOutputTokens ?? 0,
            chosen?.EstimatedCostUsd ?? 0m,
            plan.Candidates.Select(Decision).ToList());
    }

    private async Task<RouteRun> StartAsync(ChatRequest request, RouterContext context, Activity? span, string? cacheStatus)
    {
        try
        {
            var (plan, _, scoped) = await PlanForAsync(request, context);
            return new RouteRun(this, scoped, plan) { Span = span, CacheStatus = cacheStatus };
        }
        catch (LlmRouterException ex)
        {
            telemetry.Failed(span, "chat", context, ex);
            throw;
        }
    }

    /// <summary>
    /// What the response cache needs of a chat request before it looks anything up, with the request checked as routing
    /// checks it (limits, tenant, key, project, route): the tenant, the context with its project filled in, the action it
    /// routes through, and the resolved route (<c>model:&lt;name&gt;</c> after alias resolution, or
    /// <c>action:&lt;name&gt;/&lt;strategy&gt;</c>, or <c>auto:</c> and the models it may reach). Null when no model the
    /// caller may use can serve it (routing reports why).
    /// </summary>
    public async ValueTask<(TenantDefinition Tenant, RouterContext Context, ActionDefinition? Action, string Route)?> CacheScopeAsync(ChatRequest request, RouterContext context)
    {
        // Planned as if every provider were up: whether a request may be answered from the cache depends on what it
        // asks and what the caller may use, never on a breaker (a stored answer serves while its provider is down).
        var (plan, query, scoped) = await PlanForAsync(request, context, throwIfNone: false, anyAvailability: true);
        var eligible = plan.Eligible.Select(c => c.Model.Name).ToList();
        if (eligible.Count == 0)
        {
            return null;
        }

        var tenant = query.Tenant!;
        ActionDefinition? action = null;
        string route;
        if (scoped.Model is { } m && m != RouteQuery.Auto)
        {
            route = "model:" + (services.Catalog.TryGetModel(m, out var model) ? model.Name : m);
        }
        else if (query.Action is { } a && services.Catalog.Actions.TryGetValue(a, out action))
        {
            route = $"action:{a}/{scoped.Strategy ?? ActionDefinition.DefaultStrategy}";
        }
        else
        {
            route = "auto:" + string.Join(',', eligible); // what this caller may be routed to
        }

        if (scoped.MaxCostUsd is { } cap)
        {
            route += "|max_cost=" + cap.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return (tenant, scoped, action, route);
    }

    private async ValueTask<(RoutePlan Plan, RouteQuery Query, RouterContext Context)> PlanForAsync(ChatRequest request, RouterContext context, bool throwIfNone = true, bool anyAvailability = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Messages.Count == 0)
        {
            throw new InvalidRoutingException("messages must contain at least one message.") { Param = "messages" };
        }

        RequestLimits.Validate(request, limits); // the same limits the HTTP surfaces enforce, for grain-API callers
        var (tenant, scoped, levels) = await ScopeAsync(context);
        var query = RequestAnalysis.ToQuery(request, scoped, tenant, services.PromptTokens) with { Levels = levels };
        var plan = Plan(query, anyAvailability);
        if (throwIfNone && !plan.Eligible.Any())
        {
            // A capability the caller's request needs that no model in reach has is the caller's error, as for an explicit model.
            if (services.Planner.CapabilityGap(query, plan) is { } gap)
            {
                throw new InvalidRoutingException(gap.Message) { Param = gap.Param };
            }

            throw new AllModelsFailedException([], plan.Candidates.Select(Decision).ToList());
        }

        return (plan, query, scoped);
    }

    private RoutePlan Plan(RouteQuery query, bool anyAvailability = false)
    {
        try
        {
            return services.Planner.Plan(query, anyAvailability ? null : services.Gate.Unavailable);
        }
        catch (RoutingException ex)
        {
            throw new InvalidRoutingException(ex.Message) { Param = ex.Param, NotFound = ex.NotFound };
        }
    }

    /// <summary>
    /// The tenant of the call and the levels below it the call passes (its project, key and budgeted end user), with the
    /// context's project filled in from its key. A key, project or end user the tenant does not know is the caller's
    /// error; an end user without settings of its own is recorded on the ledger row only.
    /// </summary>
    private async ValueTask<(TenantDefinition Tenant, RouterContext Context, LevelDefinition[] Levels)> ScopeAsync(RouterContext context)
    {
        var tenant = await TenantAsync(context);
        if (context.ProjectId is null && context.KeyId is null && context.EndUser is null)
        {
            return (tenant, context, []);
        }

        var project = context.ProjectId;
        if (context.KeyId is { } keyId)
        {
            if (!tenant.Keys.TryGetValue(keyId, out var key))
            {
                throw new InvalidRoutingException($"The tenant '{tenant.Id}' has no active key '{keyId}'.") { Param = "key", NotFound = true };
            }

            if (project is not null && key.ProjectId is not null && project != key.ProjectId)
            {
                throw new InvalidRoutingException($"The key '{keyId}' belongs to project '{key.ProjectId}', not '{project}'.") { Param = "project" };
            }

            project ??= key.ProjectId;
        }

        if (project is not null && !tenant.Projects.ContainsKey(project))
        {
            throw new InvalidRoutingException($"The tenant '{tenant.Id}' has no project '{project}'.") { Param = "project", NotFound = true };
        }

        if (context.EndUser is { } user && !Tenants.LevelRules.IsEndUserId(user))
        {
            throw new InvalidRoutingException("The end user must be 1-256 characters, none a control character.") { Param = "user" };
        }

        var scoped = project == context.ProjectId ? context : context with { ProjectId = project };
        return (tenant, scoped, [.. tenant.LevelsOf(project, context.KeyId, context.EndUser)]);
    }

    /// <summary>The tenant of the call; an unknown tenant is refused, never served without budgets or restrictions.</summary>
    private async ValueTask<TenantDefinition> TenantAsync(RouterContext context)
    {
        if (await services.Tenants.GetAsync(context.TenantId) is { } tenant)
        {
            return tenant;
        }

        // Perhaps created a moment ago through another silo: look again, at most once a second for all misses.
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _tenantRefreshedAt);
        if (Stopwatch.GetElapsedTime(last, now) > TimeSpan.FromSeconds(1) && Interlocked.CompareExchange(ref _tenantRefreshedAt, now, last) == last)
        {
            await calls.TryOnceAsync(services.Tenants.RefreshAsync);
            if (await services.Tenants.GetAsync(context.TenantId) is { } fresh)
            {
                return fresh;
            }
        }

        throw new TenantNotFoundException($"Tenant '{context.TenantId}' does not exist.") { TenantId = context.TenantId };
    }

    /// <summary>The provider's usage; when it reported none, what came counted with the model's tokenizer (flagged).</summary>
    private TokenUsage UsageOf(ProviderResponse response, ModelDefinition model, RouteCandidate candidate)
    {
        var usage = response.Usage;
        if (usage.PromptTokens > 0 || usage.CompletionTokens > 0)
        {
            return usage;
        }

        var tally = new StreamTally();
        tally.Add(response.Message);
        return tally.Estimate(services, model, candidate.EstimatedPromptTokens);
    }

    private static decimal Cost(ModelDefinition model, TokenUsage usage) =>
        CostCalculator.Cost(model.Pricing, new BilledTokens(usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens, usage.CacheWriteTokens, usage.CacheWrite1hTokens, usage.ReasoningTokens));

    private static string? StructuredOutputProblem(ChatRequest request, ProviderResponse response)
    {
        if (request.ResponseFormat is not { Kind: not ResponseFormatKind.Text } format || response.Message.ToolCalls is { Count: > 0 })
        {
            return null;
        }

        var schema = format.Kind == ResponseFormatKind.JsonSchema ? format.SchemaJson : null;
        return JsonOutputValidator.Validate(response.Message.Text, schema);
    }

    /// <summary>After a context-length error, move the remaining long-context candidates to the front.</summary>
    private static void PreferLongContext(List<RouteCandidate> queue, int current)
    {
        var rest = queue.Skip(current + 1).ToList();
        var reordered = rest.Where(c => c.Model.Has(Capability.LongContext)).Concat(rest.Where(c => !c.Model.Has(Capability.LongContext))).ToList();
        queue.RemoveRange(current + 1, rest.Count);
        queue.AddRange(reordered);
    }

    private ITenantBudgetGrain Budget(string tenantId) => grains.GetTenantBudget(tenantId);

    private static ChatStreamItem ToItem(ProviderStreamChunk chunk, ModelDefinition model, ProviderDefinition provider, bool includeRoute) => new()
    {
        TextDelta = chunk.TextDelta,
        ToolCalls = chunk.ToolCalls,
        FinishReason = chunk.FinishReason,
        Usage = chunk.Usage,
        CostUsd = chunk.Usage is { } u ? Cost(model, u) : null,
        Model = includeRoute ? model.Name : null,
        Provider = includeRoute ? provider.Id : null,
        Deployment = includeRoute ? model.Deployment?.Id : null,
    };

    private static CandidateDecision Decision(RouteCandidate c) =>
        new(c.Model.Name, c.Model.Provider, c.Eligible, c.Reason, c.EstimatedCostUsd);

    private static double Ms(long since) => Stopwatch.GetElapsedTime(since).TotalMilliseconds;

    /// <summary>Any failure of an adapter as the typed error it stands for; null for the caller's own cancellation.</summary>
    private static ProviderException? Classify(Exception ex, ProviderDefinition provider, ModelDefinition model, CancellationToken token)
    {
        switch (ex)
        {
            case ProviderException typed:
                return typed;
            case OperationCanceledException when token.IsCancellationRequested:
                return null;
            case OperationCanceledException or TimeoutException:
                return ProviderException.Create(ProviderErrorClass.Timeout, provider, model, null, "the provider did not answer in time", inner: ex);
            case HttpRequestException or IOException:
                return ProviderException.Create(ProviderErrorClass.Connection, provider, model, null, "the connection to the provider failed", inner: ex);
            default:
                // Nothing from the exception's message: it may quote the provider's body.
                return ProviderException.Create(ProviderErrorClass.UpstreamInvalidResponse, provider, model, null, $"the provider's answer could not be read ({ex.GetType().Name})", inner: ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Attempt on model {Model} at provider {Provider} failed: {ErrorClass} (status {Status})")]
    private static partial void LogAttemptFailed(ILogger logger, string model, string provider, string errorClass, int? status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing reservation {Reservation} of tenant {Tenant} failed ({Error}); it expires by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string reservation, string tenant, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reporting the outcome of a call to provider {Provider} failed ({Error})")]
    private static partial void LogOutcomeFailed(ILogger logger, string provider, string error);

    /// <summary>One request's walk through its candidates: the attempts so far and what was skipped.</summary>
    private sealed class RouteRun(RouterEngine engine, RouterContext context, RoutePlan plan, string operation = "chat")
    {
        private readonly List<CandidateDecision> _budgetSkips = [];
        private readonly List<CandidateDecision> _deploymentSkips = [];
        private int _lastCandidate = -1;
        private BudgetExceededException? _lastBudget;
        private bool _counted; // the first reservation of the request counts against the tenant's rpm
        private readonly BudgetPath _path = context.ProjectId is null && context.KeyId is null && context.EndUser is null
            ? BudgetPath.None
            : new BudgetPath(context.ProjectId, context.KeyId, context.EndUser);
        private int _billedAttempts;

        public RoutePlan Plan { get; } = plan;

        /// <summary>The GenAI operation name (<c>chat</c>, <c>embeddings</c>).</summary>
        public string Operation { get; } = operation;

        /// <summary>The request's span, when something listens.</summary>
        public Activity? Span { get; init; }

        /// <summary>How the response cache takes part in the request, recorded on its ledger rows; null when it does not.</summary>
        public string? CacheStatus { get; init; }

        /// <summary>Starts the span of an attempt on candidate <paramref name="index"/>, counting it as a retry or a fallback.</summary>
        public Activity? StartAttempt(int index, ModelDefinition model, ProviderDefinition provider, long? maxTokens)
        {
            var retry = index == _lastCandidate;
            string? fallback = null;
            if (!retry && (Attempts.Count > 0 || _budgetSkips.Count > 0))
            {
                fallback = Attempts.Count > 0 ? Attempts[^1].ErrorClass?.Name() ?? "rejected" : "budget";
            }

            _lastCandidate = index;
            engine.telemetry.AttemptStarting(model, provider, retry, fallback);
            return RouterTelemetry.StartAttempt(Operation, model, provider, Attempts.Count + 1, maxTokens, fallback);
        }

        public List<AttemptRecord> Attempts { get; } = [];

        public long Started { get; } = Stopwatch.GetTimestamp();

        public DateTimeOffset StartedAt { get; } = engine.services.Time.GetUtcNow();

        /// <summary>The W3C trace id the request runs under (the caller's, or the one its HTTP surface started), for the ledger row.</summary>
        public string? TraceId { get; } = TraceContext.CurrentTraceId();

        /// <summary>
        /// Makes <paramref name="queue"/>[<paramref name="index"/>] callable: a model with deployments is replaced, where
        /// it stands in the chain, by its deployments that can take a call now (breaker closed, not paused by a 429,
        /// limits not spent — silo-local state only) in the order its balance strategy picks, so a failed deployment
        /// falls over to the next one before the chain moves to the next model. Skipped deployments are recorded.
        /// False when nothing is left at <paramref name="index"/>.
        /// </summary>
        public bool Expand(List<RouteCandidate> queue, int index)
        {
            while (index < queue.Count && queue[index].Model.Deployments.Count > 0)
            {
                var candidate = queue[index];
                var services = engine.services;
                var views = services.Catalog.DeploymentsOf(candidate.Model);
                var available = new List<RouteCandidate>(views.Count);
                var loads = new List<DeploymentLoad>(views.Count);
                foreach (var view in views)
                {
                    var host = services.Catalog.ProviderOf(view);
                    var cost = ReferenceEquals(view.Pricing, candidate.Model.Pricing)
                        ? candidate.EstimatedCostUsd
                        : CostCalculator.Estimate(view.Pricing, candidate.EstimatedPromptTokens, candidate.ReservedOutputTokens);
                    if (!host.Enabled)
                    {
                        _deploymentSkips.Add(new CandidateDecision(view.Name, host.Id, false, $"deployment '{view.Deployment!.Id}': provider '{host.Id}' is disabled", cost));
                        continue;
                    }

                    if ((services.Gate.Closed(host, view) ?? services.Gate.SpentLimit(host, view)) is { } refusal)
                    {
                        // Skipped when chosen, not tried: its class still counts, so a call whose every deployment is spent is a capacity refusal.
                        NoteRetryAt(refusal.RetryAt);
                        _firstRefused ??= (view, host, refusal.Class);
                        _deploymentSkips.Add(new CandidateDecision(view.Name, host.Id, false, $"deployment '{view.Deployment!.Id}': {refusal.Reason}", cost, refusal.Class));
                        continue;
                    }

                    available.Add(candidate with { Model = view, EstimatedCostUsd = cost });
                    loads.Add(services.Gate.Load(host, view, cost));
                }

                // Only a weighted order reads the evenly spread pick; the other strategies leave the model's sequence alone.
                var pick = candidate.Model.Balance == BalanceStrategy.Weighted ? services.Random.Spread(candidate.Model.Name) : 0;
                var order = DeploymentBalancer.Order(candidate.Model.Balance, loads, services.Random.NextDouble, pick);
                queue.RemoveAt(index);
                queue.InsertRange(index, order.Select(o => available[o]));
            }

            return index < queue.Count;
        }

        /// <summary>Reserves a chat candidate's estimated prompt and output; null (and recorded) when the tenant cannot afford it now.</summary>
        public Task<Reservation?> ReserveAsync(RouteCandidate candidate, int index) =>
            ReserveAsync(candidate.Model, engine.services.Catalog.ProviderOf(candidate.Model), candidate.EstimatedPromptTokens + candidate.ReservedOutputTokens, candidate.EstimatedCostUsd, index);

        /// <summary>Reserves for one candidate; null (and recorded) when the tenant cannot afford this model now.</summary>
        public async Task<Reservation?> ReserveAsync(ModelDefinition model, ProviderDefinition provider, long tokens, decimal cost, int index)
        {
            var id = $"{context.RequestId}:{index}";
            var grain = engine.Budget(context.TenantId);
            using var span = RouterTelemetry.StartChild("llmrouter.budget.reserve", Span);
            try
            {
                // Safe to repeat after a lost answer: an orphan reservation is a lease that expires.
                await engine.calls.RetryAsync(() => grain.ReserveAsync(id, tokens, cost, context.RunId, !_counted, _path), "reserve the budget");
                _counted = true;
            }
            catch (BudgetExceededException ex)
            {
                // This model is more than the tenant can afford now: try the next (cheaper) one.
                _lastBudget = ex;
                span?.SetTag("error.type", "budget_exceeded");
                engine.telemetry.BudgetRejected(context.TenantId);
                _budgetSkips.Add(new CandidateDecision(model.Name, provider.Id, false, "budget: " + ex.Message, cost));
                return null;
            }

            return new Reservation(engine, grain, context.TenantId, id) { Model = model, Provider = provider, Tokens = tokens, Span = Span };
        }

        /// <summary>Asks the silo-local gate for a permit; a refusal is recorded and thrown as a non-transient error.</summary>
        public async Task<Attempt> AdmitAsync(ProviderDefinition provider, ModelDefinition model, long tokens, Activity? span)
        {
            Grains.Providers.CallPermit? permit;
            Grains.Providers.GateRefusal? denied;
            try
            {
                (permit, denied) = await engine.services.Gate.AdmitCallAsync(provider, model, tokens);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                (permit, denied) = (null, new($"provider '{provider.Id}' state could not be reached ({ex.GetType().Name})", ProviderErrorClass.Unavailable));
            }

            if (permit is null)
            {
                // A limit of ours names itself (rpm, tpm, concurrency): retryable capacity, not a failed upstream.
                var errorClass = denied?.Class ?? ProviderErrorClass.Unavailable;
                NoteRetryAt(denied?.RetryAt);

                Attempts.Add(new AttemptRecord(model.Name, provider.Id, false, errorClass, denied?.Reason, 0) { Deployment = model.Deployment?.Id });
                engine.telemetry.GateDenied(span, provider, denied?.Reason);
                throw ProviderException.Create(errorClass, provider, model, null, denied?.Reason ?? "unavailable");
            }

            return new Attempt(engine, this, provider, model, permit, span);
        }

        /// <summary>
        /// Seconds a caller refused for capacity should wait: until the earliest per-minute window of the refusing limits
        /// ends, else one second (a concurrency slot frees as soon as a call ends).
        /// </summary>
        private double CapacityRetryAfter()
        {
            var concurrencyOnly = Attempts.Any(a => a.ErrorClass is ProviderErrorClass.ConcurrencyLimit or ProviderErrorClass.RateLimited or ProviderErrorClass.Unavailable)
                || _deploymentSkips.Any(s => s.ErrorClass is ProviderErrorClass.Unavailable);
            if (concurrencyOnly || _capacityRetryAt is not { } at)
            {
                return 1.0;
            }

            return Math.Max(1.0, Math.Ceiling((at - engine.services.Time.GetUtcNow()).TotalSeconds));
        }

        private DateTimeOffset? _capacityRetryAt;

        /// <summary>The first deployment skipped because it could not take a call now: the ledger row of a call refused before any attempt names it.</summary>
        private (ModelDefinition Model, ProviderDefinition Provider, ProviderErrorClass Class)? _firstRefused;

        /// <summary>Keeps the earliest time a refused limit frees up (the end of its minute, or of a 429 pause).</summary>
        private void NoteRetryAt(DateTimeOffset? at)
        {
            if (at is { } value && (_capacityRetryAt is null || value < _capacityRetryAt))
            {
                _capacityRetryAt = value;
            }
        }

        /// <summary>Request id of a billed failed attempt's ledger row (the request's own row keeps the plain id).</summary>
        public string AttemptRowId() => $"{context.RequestId}/{++_billedAttempts}";

        public UsageRecord Record(ModelDefinition model, ProviderDefinition provider, TokenUsage usage, decimal cost, bool success, ProviderErrorClass? errorClass, double? ttftMs) =>
            new(context.RequestId, provider.Id, model.Name, usage, cost, success)
            {
                RunId = context.RunId,
                Tags = context.Tags,
                Action = context.Action,
                Strategy = context.Strategy,
                LatencyMs = Ms(Started),
                TimeToFirstTokenMs = ttftMs,
                ErrorClass = errorClass,
                Attempts = Attempts.Count,
                StartedAt = StartedAt,
                CompletedAt = engine.services.Time.GetUtcNow(),
                Deployment = model.Deployment?.Id,
                TraceId = TraceId,
                ProjectId = context.ProjectId,
                KeyId = context.KeyId,
                EndUser = context.EndUser,
                Cache = CacheStatus,
                AttemptLog = [.. Attempts],
            };

        /// <summary>Every candidate failed or was skipped: the error to throw (a request that was tried is one ledger row).</summary>
        public async Task<Exception> FailAsync()
        {
            if (Attempts.Count == 0 && _lastBudget is not null)
            {
                return _lastBudget;
            }

            if (Attempts.Count == 0 && _firstRefused is { } refused && refused.Class.IsCapacityLimit())
            {
                // Every deployment was skipped for a spent limit of ours: one row naming the limit, as a refusal at the gate has.
                var record = Record(refused.Model, refused.Provider, TokenUsage.Zero, 0m, false, refused.Class, null);
                await engine.calls.RetryAsync(() => engine.Budget(context.TenantId).SettleAsync(null, record), "record the call in the ledger");
            }

            if (Attempts.Count > 0)
            {
                var last = Attempts[^1];
                var model = engine.services.Catalog.Models[last.Model];
                if (last.Deployment is { } tried)
                {
                    model = engine.services.Catalog.DeploymentsOf(model).First(v => v.Deployment!.Id == tried);
                }

                var record = Record(model, engine.services.Catalog.ProviderOf(model), TokenUsage.Zero, 0m, false, last.ErrorClass, null);
                await engine.calls.RetryAsync(() => engine.Budget(context.TenantId).SettleAsync(null, record), "record the call in the ledger");
            }

            var skipped = Plan.Candidates.Where(c => !c.Eligible).Select(Decision).Concat(_deploymentSkips).Concat(_budgetSkips).ToList();
            var refusals = new AllModelsFailedException(Attempts, skipped).Refusals().ToList();
            var retryAfter = refusals.Count > 0 && refusals.All(c => c is ProviderErrorClass.RateLimited or ProviderErrorClass.Unavailable || c?.IsCapacityLimit() == true)
                ? CapacityRetryAfter()
                : (double?)null;
            return new AllModelsFailedException(Attempts, skipped) { RetryAfterSeconds = retryAfter };
        }
    }

    /// <summary>A budget reservation held across a call: settled once, or given back when disposed.</summary>
    private sealed class Reservation : IAsyncDisposable
    {
        private readonly RouterEngine _engine;
        private readonly ITenantBudgetGrain _grain;
        private readonly string _tenantId;
        private readonly string _id;
        private bool _done;

        public Reservation(RouterEngine engine, ITenantBudgetGrain grain, string tenantId, string id)
        {
            (_engine, _grain, _tenantId, _id) = (engine, grain, tenantId, id);
            engine.keeper.Hold(grain, tenantId, id);
        }

        public required ModelDefinition Model { get; init; }

        public required ProviderDefinition Provider { get; init; }

        /// <summary>The tokens reserved (estimated prompt plus reserved output).</summary>
        public long Tokens { get; init; }

        /// <summary>The request's span (parent of the settle span).</summary>
        public Activity? Span { get; init; }

        /// <summary>Drops the reservation, appends the ledger row durably and adds the usage (once).</summary>
        public async Task SettleAsync(UsageRecord record)
        {
            _done = true;
            using var span = RouterTelemetry.StartChild("llmrouter.budget.settle", Span);
            try
            {
                // Idempotent by request id: a settle whose answer was lost is repeated until it lands.
                await _engine.calls.RetryAsync(() => _grain.SettleAsync(_id, record), "record the call in the ledger");
                _engine.telemetry.Billed(record, Provider, _tenantId);
            }
            finally
            {
                _engine.keeper.Drop(_id);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_done)
            {
                return;
            }

            _done = true;
            try
            {
                if (!await _engine.calls.TryOnceAsync(() => _grain.ReleaseAsync(_id)))
                {
                    LogReleaseFailed(_engine.logger, _id, _tenantId, "no answer");
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogReleaseFailed(_engine.logger, _id, _tenantId, ex.GetType().Name); // the lease expires by itself
            }
            finally
            {
                _engine.keeper.Drop(_id);
            }
        }
    }

    /// <summary>One upstream try under a permit: recorded once, its outcome reported once, its permit always handed back.</summary>
    private sealed class Attempt(RouterEngine engine, RouteRun run, ProviderDefinition provider, ModelDefinition model, Grains.Providers.CallPermit permit, Activity? span) : IAsyncDisposable
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private ProviderOutcome? _outcome;

        /// <summary>Records an adapter failure; returns it typed, or null for the caller's own cancellation.</summary>
        public ProviderException? Failed(Exception ex, CancellationToken token)
        {
            var typed = Classify(ex, provider, model, token);
            if (typed is null)
            {
                Abandoned();
                return null;
            }

            Record(typed);
            return typed;
        }

        public ProviderException FailWith(ProviderErrorClass errorClass, string message)
        {
            var ex = ProviderException.Create(errorClass, provider, model, null, message);
            Record(ex);
            return ex;
        }

        /// <summary>The provider answered (perhaps with output the request rejects: <paramref name="rejected"/>).</summary>
        public void Answered(TokenUsage usage, ProviderErrorClass? rejected, string? problem)
        {
            if (_outcome is not null)
            {
                return;
            }

            var ms = Ms(_start);
            run.Attempts.Add(new AttemptRecord(model.Name, provider.Id, rejected is null, rejected, problem, ms) { Deployment = model.Deployment?.Id });
            engine.telemetry.AttemptAnswered(span, run.Operation, model, provider, usage, run.Attempts[^1].ErrorClass, ms);
            // An answer says the provider is healthy, whatever we think of its content; what it used replaces the estimate.
            _outcome = new ProviderOutcome(true, null, false, ms, permit.IsProbe, usage.TotalTokens - permit.EstimatedTokens, null);
        }

        /// <summary>The caller went away before the provider finished: no verdict on the provider.</summary>
        public void Abandoned() =>
            _outcome ??= new ProviderOutcome(false, ProviderErrorClass.Cancelled, false, Ms(_start), permit.IsProbe, 0, null);

        private void Record(ProviderException ex)
        {
            if (_outcome is not null)
            {
                return;
            }

            var ms = Ms(_start);
            run.Attempts.Add(new AttemptRecord(model.Name, provider.Id, false, ex.ErrorClass, ex.ProviderMessage, ms) { Deployment = model.Deployment?.Id });
            LogAttemptFailed(engine.logger, model.Name, provider.Id, ex.ErrorClass.Name(), ex.StatusCode);
            engine.telemetry.AttemptFailed(span, run.Operation, model, provider, ex.ErrorClass, ex.StatusCode, ms);
            _outcome = new ProviderOutcome(false, ex.ErrorClass, ex.CountsAgainstProvider, ms, permit.IsProbe, 0,
                ex.ErrorClass == ProviderErrorClass.RateLimited ? ex.RetryAfter : null);
        }

        public async ValueTask DisposeAsync()
        {
            Abandoned(); // a no-op once an outcome is known
            try
            {
                await engine.services.Gate.Complete(permit, _outcome!);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogOutcomeFailed(engine.logger, provider.Id, ex.GetType().Name);
            }
        }
    }

    /// <summary>A provider stream whose failures (of any exception type) are recorded on the attempt and kept, never thrown.</summary>
    private sealed class GuardedStream(IAsyncEnumerable<ProviderStreamChunk> source, Attempt attempt, CancellationToken token) : IAsyncDisposable
    {
        private IAsyncEnumerator<ProviderStreamChunk>? _enumerator;

        /// <summary>The failure that ended the stream, if one did.</summary>
        public ProviderException? Failure { get; private set; }

        /// <summary>The next chunk; null when the stream ended (see <see cref="Failure"/>). Rethrows the caller's cancellation.</summary>
        public async ValueTask<ProviderStreamChunk?> NextAsync()
        {
            if (Failure is not null)
            {
                return null;
            }

            try
            {
                _enumerator ??= source.GetAsyncEnumerator(token);
                return await _enumerator.MoveNextAsync() ? _enumerator.Current : null;
            }
            catch (Exception ex) when (attempt.Failed(ex, token) is { } typed)
            {
                Failure = typed;
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_enumerator is null)
            {
                return;
            }

            try
            {
                await _enumerator.DisposeAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Disposing an aborted upstream stream may throw; nothing is owed to anyone.
            }
        }
    }

    /// <summary>What a stream (or an answer) delivered, for counting it when the provider reported no usage.</summary>
    private sealed class StreamTally
    {
        private readonly StringBuilder _text = new();

        public void Add(ProviderStreamChunk chunk)
        {
            _text.Append(chunk.TextDelta);
            foreach (var call in chunk.ToolCalls ?? [])
            {
                _text.Append(call.Name).Append(call.ArgumentsJson);
            }
        }

        public void Add(RouterMessage message)
        {
            _text.Append(message.Text);
            foreach (var call in message.ToolCalls ?? [])
            {
                _text.Append(call.Name).Append(call.ArgumentsJson);
            }
        }

        /// <summary>Completion tokens counted from what came with the model's tokenizer family; flagged as estimated.</summary>
        public TokenUsage Estimate(RouterServices services, ModelDefinition model, long promptTokens) =>
            new(promptTokens, services.CompletionTokens(model, _text.ToString())) { Estimated = true };
    }
}
