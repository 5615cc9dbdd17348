using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;
using Orleans.LlmRouter.Core.Routing;
using Orleans.LlmRouter.Core.Validation;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// Walks the candidate chain for a request: tries each eligible model (retrying transient errors by its provider's
/// policy), moves on at once on permanent errors, jumps to a long-context model on a context-length error, rejects
/// structured output that does not validate, and prices the result. Stateless: runs on the silo that got the request.
/// </summary>
// One reentrant activation per silo: its calls interleave, and the follow-up calls of a stream (MoveNext/Dispose on the
// enumerator) always reach the activation that holds the enumerator. With several local workers Orleans may route them
// to another activation, which aborts the stream under load (EnumerationAbortedException, seen in bench/).
[StatelessWorker(1)]
[Reentrant]
internal sealed partial class RouterGrain(RouterServices services, ILogger<RouterGrain> logger) : Grain, IRouterGrain
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ITenantBudgetGrain> _budgets = new(StringComparer.Ordinal);

    public async Task<ChatCompletion> CompleteAsync(ChatRequest request, RoutingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        var started = Stopwatch.GetTimestamp();
        var startedAt = services.Time.GetUtcNow();
        var (plan, _) = await PlanForAsync(request, context);
        var budget = Budget(context);
        var attempts = new List<AttemptRecord>();
        var budgetSkips = new List<CandidateDecision>();
        BudgetExceededException? lastBudget = null;
        var counted = false; // the first reservation of the request counts against the tenant's rpm/tpm
        var queue = new List<RouteCandidate>(plan.Eligible);
        for (var i = 0; i < queue.Count; i++)
        {
            var candidate = queue[i];
            var estimated = candidate.EstimatedPromptTokens;
            var model = candidate.Model;
            var provider = services.Catalog.ProviderOf(model);
            var adapter = services.Providers.Get(provider.Id);
            var call = new ProviderCall(request, model, provider);
            var reservation = $"{context.RequestId}:{i}";
            try
            {
                await budget.ReserveAsync(reservation, estimated + candidate.ReservedOutputTokens, candidate.EstimatedCostUsd, context.RunId, countsRequest: !counted);
                counted = true;
            }
            catch (BudgetExceededException ex)
            {
                // This model is more than the tenant can afford now: try the next (cheaper) one.
                lastBudget = ex;
                budgetSkips.Add(new CandidateDecision(model.Name, provider.Id, false, "budget: " + ex.Message, candidate.EstimatedCostUsd));
                continue;
            }

            ProviderResponse response;
            try
            {
                response = await services.RetryPipelineFor(provider).ExecuteAsync(
                    async token =>
                    {
                        var permit = await AdmitAsync(provider, model, estimated + candidate.ReservedOutputTokens, attempts);
                        var attemptStart = Stopwatch.GetTimestamp();
                        try
                        {
                            var r = await adapter.CompleteAsync(call, token);
                            CheckStructuredOutput(request, r, provider, model);
                            attempts.Add(new AttemptRecord(model.Name, provider.Id, true, null, null, Ms(attemptStart)));
                            var extra = r.Usage.TotalTokens - permit.EstimatedTokens;
                            await services.Gate.Complete(permit, new ProviderOutcome(true, null, false, Ms(attemptStart), permit.IsProbe, Math.Max(0, extra), null));
                            return r;
                        }
                        catch (ProviderException ex)
                        {
                            attempts.Add(new AttemptRecord(model.Name, provider.Id, false, ex.ErrorClassName, ex.ProviderMessage, Ms(attemptStart)));
                            LogAttemptFailed(logger, model.Name, provider.Id, ex.ErrorClassName, ex.StatusCode);
                            await services.Gate.Complete(permit, Outcome(ex, attemptStart, permit));
                            throw;
                        }
                        catch (OperationCanceledException)
                        {
                            await services.Gate.Complete(permit, new ProviderOutcome(false, "cancelled", false, Ms(attemptStart), permit.IsProbe, 0, null));
                            throw;
                        }
                    },
                    ct);
            }
            catch (ProviderException ex)
            {
                // Permanent error, or transient retries spent: next candidate (a long-context one first after a context-length error).
                await budget.ReleaseAsync(reservation);
                if (ex.ErrorClass == ProviderErrorClass.ContextLengthExceeded)
                {
                    PreferLongContext(queue, i);
                }

                continue;
            }
            catch (OperationCanceledException)
            {
                await budget.ReleaseAsync(reservation);
                throw;
            }

            var cost = CostCalculator.Cost(model.Pricing, response.Usage.PromptTokens, response.Usage.CompletionTokens, response.Usage.CachedTokens);
            var latency = Ms(started);

            // The ledger row is durable before the response goes back (B2).
            await budget.SettleAsync(reservation, Record(context, model, provider, response.Usage, cost, true, null, attempts.Count, latency, null, startedAt));
            return new ChatCompletion(
                "chatcmpl-" + context.RequestId,
                model.Name,
                provider.Id,
                model.ProviderModel,
                response.Message,
                response.FinishReason,
                response.Usage,
                cost,
                attempts,
                latency,
                services.Time.GetUtcNow());
        }

        if (attempts.Count == 0 && lastBudget is not null)
        {
            throw lastBudget;
        }

        await RecordFailureAsync(budget, context, attempts, started, startedAt);
        throw Failed(attempts, plan, budgetSkips);
    }

    public async IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RoutingContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        var started = Stopwatch.GetTimestamp();
        var startedAt = services.Time.GetUtcNow();
        var (plan, query) = await PlanForAsync(request, context);
        var budget = Budget(context);
        var attempts = new List<AttemptRecord>();
        var budgetSkips = new List<CandidateDecision>();
        BudgetExceededException? lastBudget = null;
        var counted = false; // the first reservation of the request counts against the tenant's rpm/tpm
        var queue = new List<RouteCandidate>(plan.Eligible);
        for (var i = 0; i < queue.Count; i++)
        {
            var candidate = queue[i];
            var model = candidate.Model;
            var provider = services.Catalog.ProviderOf(model);
            var call = new ProviderCall(request, model, provider);
            var reservation = $"{context.RequestId}:{i}";
            try
            {
                await budget.ReserveAsync(reservation, candidate.EstimatedPromptTokens + candidate.ReservedOutputTokens, candidate.EstimatedCostUsd, context.RunId, countsRequest: !counted);
                counted = true;
            }
            catch (BudgetExceededException ex)
            {
                lastBudget = ex;
                budgetSkips.Add(new CandidateDecision(model.Name, provider.Id, false, "budget: " + ex.Message, candidate.EstimatedCostUsd));
                continue;
            }

            CallPermit permit;
            try
            {
                permit = await AdmitAsync(provider, model, candidate.EstimatedPromptTokens + candidate.ReservedOutputTokens, attempts);
            }
            catch (ProviderException)
            {
                await budget.ReleaseAsync(reservation);
                continue;
            }

            var attemptStart = Stopwatch.GetTimestamp();
            await using var stream = services.Providers.Get(provider.Id).StreamAsync(call, ct).GetAsyncEnumerator(ct);

            // Before the first chunk reaches the caller, a failure falls back to the next candidate.
            ProviderStreamChunk first;
            try
            {
                if (!await stream.MoveNextAsync())
                {
                    throw ProviderException.Create(ProviderErrorClass.Server, provider, model, null, "the stream ended before any chunk");
                }

                first = stream.Current;
            }
            catch (ProviderException ex)
            {
                attempts.Add(new AttemptRecord(model.Name, provider.Id, false, ex.ErrorClassName, ex.ProviderMessage, Ms(attemptStart)));
                LogAttemptFailed(logger, model.Name, provider.Id, ex.ErrorClassName, ex.StatusCode);
                await services.Gate.Complete(permit, Outcome(ex, attemptStart, permit));
                await budget.ReleaseAsync(reservation);
                if (ex.ErrorClass == ProviderErrorClass.ContextLengthExceeded)
                {
                    PreferLongContext(queue, i);
                }

                continue;
            }
            catch (OperationCanceledException)
            {
                await services.Gate.Complete(permit, new ProviderOutcome(false, "cancelled", false, Ms(attemptStart), permit.IsProbe, 0, null));
                await budget.ReleaseAsync(reservation);
                throw;
            }

            // From the first chunk on, this model owns the stream. Whatever ends it — completion, an upstream failure,
            // or the caller walking away — what was generated is settled and recorded (B3).
            var ttft = Ms(started);
            var prompt = candidate.EstimatedPromptTokens;
            long streamedChars = 0;
            TokenUsage? finalUsage = null;
            ProviderException? failure = null;
            try
            {
                streamedChars += first.TextDelta?.Length ?? 0;
                finalUsage = first.Usage;
                yield return ToItem(first, model, provider, includeRoute: true);
                while (finalUsage is null)
                {
                    ProviderStreamChunk chunk;
                    try
                    {
                        if (!await stream.MoveNextAsync())
                        {
                            break;
                        }

                        chunk = stream.Current;
                    }
                    catch (ProviderException ex)
                    {
                        failure = ex;
                        break;
                    }

                    streamedChars += chunk.TextDelta?.Length ?? 0;
                    finalUsage = chunk.Usage;
                    yield return ToItem(chunk, model, provider, includeRoute: false);
                }

                if (failure is not null)
                {
                    var partial = new TokenUsage(prompt, (streamedChars + 3) / 4);
                    yield return new ChatStreamItem
                    {
                        FinishReason = "error",
                        Usage = partial,
                        CostUsd = CostCalculator.Cost(model.Pricing, partial.PromptTokens, partial.CompletionTokens),
                        ErrorClass = failure.ErrorClassName,
                        ErrorMessage = failure.ProviderMessage,
                    };
                }
            }
            finally
            {
                var usage = finalUsage ?? new TokenUsage(prompt, (streamedChars + 3) / 4);
                var cost = CostCalculator.Cost(model.Pricing, usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens);
                var ok = failure is null && finalUsage is not null;
                attempts.Add(new AttemptRecord(model.Name, provider.Id, ok, failure?.ErrorClassName ?? (ok ? null : "cancelled"), failure?.ProviderMessage, Ms(attemptStart)));
                await services.Gate.Complete(permit, failure is not null ? Outcome(failure, attemptStart, permit) : new ProviderOutcome(ok, ok ? null : "cancelled", false, Ms(attemptStart), permit.IsProbe, 0, null));
                await budget.SettleAsync(reservation, Record(context, model, provider, usage, cost, ok, failure?.ErrorClassName ?? (ok ? null : "cancelled"), attempts.Count, Ms(started), ttft, startedAt));
            }

            yield break;
        }

        if (attempts.Count == 0 && lastBudget is not null)
        {
            throw lastBudget;
        }

        await RecordFailureAsync(budget, context, attempts, started, startedAt);
        throw Failed(attempts, plan, budgetSkips);
    }

    public async Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, RoutingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var inFlight = services.InFlight.Begin(context.RequestId, context.TenantId, cancellationToken);
        var ct = inFlight.Token;
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Inputs.Count == 0)
        {
            throw new InvalidRoutingException("input must contain at least one text.") { Param = "input" };
        }

        var started = Stopwatch.GetTimestamp();
        var startedAt = services.Time.GetUtcNow();
        var tenant = await services.Tenants.GetAsync(context.TenantId);
        var prompt = request.Inputs.Sum(Core.Tokens.TokenEstimator.EstimateText);
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
        };
        RoutePlan plan;
        try
        {
            plan = services.Planner.Plan(query, services.Gate.Unavailable);
        }
        catch (RoutingException ex)
        {
            throw new InvalidRoutingException(ex.Message) { Param = ex.Param, NotFound = ex.NotFound };
        }

        var budget = Budget(context);
        var attempts = new List<AttemptRecord>();
        var budgetSkips = new List<CandidateDecision>();
        BudgetExceededException? lastBudget = null;
        var counted = false; // the first reservation of the request counts against the tenant's rpm/tpm
        var candidates = plan.Eligible.Where(c => c.Model.Has(Capability.Embedding)).ToList();
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            var model = candidate.Model;
            var provider = services.Catalog.ProviderOf(model);
            var reservation = $"{context.RequestId}:{i}";
            try
            {
                await budget.ReserveAsync(reservation, prompt, candidate.EstimatedCostUsd, context.RunId, countsRequest: !counted);
                counted = true;
            }
            catch (BudgetExceededException ex)
            {
                lastBudget = ex;
                budgetSkips.Add(new CandidateDecision(model.Name, provider.Id, false, "budget: " + ex.Message, candidate.EstimatedCostUsd));
                continue;
            }

            try
            {
                var response = await services.RetryPipelineFor(provider).ExecuteAsync(
                    async token =>
                    {
                        var permit = await AdmitAsync(provider, model, prompt, attempts);
                        var attemptStart = Stopwatch.GetTimestamp();
                        try
                        {
                            var r = await services.Providers.Get(provider.Id).EmbedAsync(new EmbeddingCall(request.Inputs, model, provider, request.Dimensions), token);
                            attempts.Add(new AttemptRecord(model.Name, provider.Id, true, null, null, Ms(attemptStart)));
                            await services.Gate.Complete(permit, new ProviderOutcome(true, null, false, Ms(attemptStart), permit.IsProbe, 0, null));
                            return r;
                        }
                        catch (ProviderException ex)
                        {
                            attempts.Add(new AttemptRecord(model.Name, provider.Id, false, ex.ErrorClassName, ex.ProviderMessage, Ms(attemptStart)));
                            await services.Gate.Complete(permit, Outcome(ex, attemptStart, permit));
                            throw;
                        }
                    },
                    ct);
                var usage = new TokenUsage(response.PromptTokens, 0);
                var cost = CostCalculator.Cost(model.Pricing, usage.PromptTokens, 0);
                await budget.SettleAsync(reservation, Record(context, model, provider, usage, cost, true, null, attempts.Count, Ms(started), null, startedAt));
                return new EmbeddingResult(model.Name, provider.Id, response.Vectors, usage, cost, attempts);
            }
            catch (ProviderException)
            {
                await budget.ReleaseAsync(reservation);
            }
            catch (OperationCanceledException)
            {
                await budget.ReleaseAsync(reservation);
                throw;
            }
        }

        if (attempts.Count == 0 && lastBudget is not null)
        {
            throw lastBudget;
        }

        await RecordFailureAsync(budget, context, attempts, started, startedAt);
        throw Failed(attempts, plan, budgetSkips);
    }

    public Task<bool> CancelAsync(string requestId, string tenantId) => Task.FromResult(services.InFlight.Cancel(requestId, tenantId));

    public async Task<RouteExplanation> ExplainAsync(ChatRequest request, RoutingContext context)
    {
        var (plan, query) = await PlanForAsync(request, context, throwIfNone: false);
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

    private async ValueTask<(RoutePlan Plan, RouteQuery Query)> PlanForAsync(ChatRequest request, RoutingContext context, bool throwIfNone = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Messages.Count == 0)
        {
            throw new InvalidRoutingException("messages must contain at least one message.") { Param = "messages" };
        }

        var tenant = await services.Tenants.GetAsync(context.TenantId);
        var query = RequestAnalysis.ToQuery(request, context, tenant, services.PromptTokens);
        RoutePlan plan;
        try
        {
            plan = services.Planner.Plan(query, services.Gate.Unavailable);
        }
        catch (RoutingException ex)
        {
            throw new InvalidRoutingException(ex.Message) { Param = ex.Param, NotFound = ex.NotFound };
        }

        if (throwIfNone && !plan.Eligible.Any())
        {
            throw new AllModelsFailedException([], plan.Candidates.Select(Decision).ToList());
        }

        return (plan, query);
    }

    /// <summary>Asks the silo-local gate for a permit; a refusal is recorded and thrown as a non-transient error.</summary>
    private async Task<CallPermit> AdmitAsync(ProviderDefinition provider, ModelDefinition model, long tokens, List<AttemptRecord> attempts)
    {
        var (permit, denied) = await services.Gate.AdmitAsync(provider, model, tokens);
        if (permit is not null)
        {
            return permit;
        }

        attempts.Add(new AttemptRecord(model.Name, provider.Id, false, ErrorClassNames.Of(ProviderErrorClass.Unavailable), denied, 0));
        throw ProviderException.Create(ProviderErrorClass.Unavailable, provider, model, null, denied ?? "unavailable");
    }

    private static ProviderOutcome Outcome(ProviderException ex, long attemptStart, CallPermit permit) =>
        new(false, ex.ErrorClassName, ex.CountsAgainstProvider, Ms(attemptStart), permit.IsProbe, 0,
            ex.ErrorClass == ProviderErrorClass.RateLimited ? ex.RetryAfter : null);

    private static void CheckStructuredOutput(ChatRequest request, ProviderResponse response, ProviderDefinition provider, ModelDefinition model)
    {
        if (request.ResponseFormat is not { Kind: not ResponseFormatKind.Text } format || response.Message.ToolCalls is { Count: > 0 })
        {
            return;
        }

        var schema = format.Kind == ResponseFormatKind.JsonSchema ? format.SchemaJson : null;
        if (JsonOutputValidator.Validate(response.Message.Text, schema) is { } problem)
        {
            throw ProviderException.Create(ProviderErrorClass.StructuredOutput, provider, model, null, problem);
        }
    }

    /// <summary>After a context-length error, move the remaining long-context candidates to the front.</summary>
    private static void PreferLongContext(List<RouteCandidate> queue, int current)
    {
        var rest = queue.Skip(current + 1).ToList();
        var reordered = rest.Where(c => c.Model.Has(Capability.LongContext)).Concat(rest.Where(c => !c.Model.Has(Capability.LongContext))).ToList();
        queue.RemoveRange(current + 1, rest.Count);
        queue.AddRange(reordered);
    }

    private static AllModelsFailedException Failed(List<AttemptRecord> attempts, RoutePlan plan, List<CandidateDecision> budgetSkips)
    {
        var skipped = plan.Candidates.Where(c => !c.Eligible).Select(Decision).Concat(budgetSkips).ToList();
        var retryAfter = attempts.Count > 0 && attempts.All(a => a.ErrorClass is "rate_limited" or "unavailable") ? 1.0 : (double?)null;
        return new AllModelsFailedException(attempts, skipped) { RetryAfterSeconds = retryAfter };
    }

    // Grain references made once per tenant: GetGrain reads the interface's attributes on every call.
    private ITenantBudgetGrain Budget(RoutingContext context) =>
        _budgets.GetOrAdd(context.TenantId, static (tenant, factory) => factory.GetGrain<ITenantBudgetGrain>(TenantBudgetKeys.For(tenant)), GrainFactory);

    private UsageRecord Record(RoutingContext context, ModelDefinition model, ProviderDefinition provider, TokenUsage usage, decimal cost, bool success, string? errorClass, int attempts, double latencyMs, double? ttftMs, DateTimeOffset startedAt) =>
        new(context.RequestId, provider.Id, model.Name, usage, cost, success)
        {
            RunId = context.RunId,
            Tags = context.Tags,
            Action = context.Action,
            Strategy = context.Strategy,
            LatencyMs = latencyMs,
            TimeToFirstTokenMs = ttftMs,
            ErrorClass = errorClass,
            Attempts = attempts,
            StartedAt = startedAt,
            CompletedAt = services.Time.GetUtcNow(),
        };

    /// <summary>A request that every candidate failed is still one ledger row (zero usage), for the record.</summary>
    private async Task RecordFailureAsync(ITenantBudgetGrain budget, RoutingContext context, List<AttemptRecord> attempts, long started, DateTimeOffset startedAt)
    {
        if (attempts.Count == 0)
        {
            return;
        }

        var last = attempts[^1];
        var model = services.Catalog.Models[last.Model];
        await budget.SettleAsync(null, Record(context, model, services.Catalog.ProviderOf(model), TokenUsage.Zero, 0m, false, last.ErrorClass, attempts.Count, Ms(started), null, startedAt));
    }

    private static ChatStreamItem ToItem(ProviderStreamChunk chunk, ModelDefinition model, ProviderDefinition provider, bool includeRoute) => new()
    {
        TextDelta = chunk.TextDelta,
        ToolCalls = chunk.ToolCalls,
        FinishReason = chunk.FinishReason,
        Usage = chunk.Usage,
        CostUsd = chunk.Usage is { } u ? CostCalculator.Cost(model.Pricing, u.PromptTokens, u.CompletionTokens, u.CachedTokens) : null,
        Model = includeRoute ? model.Name : null,
        Provider = includeRoute ? provider.Id : null,
    };

    private static CandidateDecision Decision(RouteCandidate c) =>
        new(c.Model.Name, c.Model.Provider, c.Eligible, c.Reason, c.EstimatedCostUsd);

    private static double Ms(long since) => Stopwatch.GetElapsedTime(since).TotalMilliseconds;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Attempt on model {Model} at provider {Provider} failed: {ErrorClass} (status {Status})")]
    private static partial void LogAttemptFailed(ILogger logger, string model, string provider, string errorClass, int? status);
}
