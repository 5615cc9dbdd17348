using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Routing;
using Orleans.LlmRouter.Grains.Telemetry;

namespace Orleans.LlmRouter.Grains.Caching;

/// <summary>
/// The response cache in front of the router, on the silo that got the request. A request the cache rule admits
/// (<see cref="CachePolicy"/>) is looked up in the store first; a stored answer is a hit, billed here without an
/// upstream call or a reservation for one. Otherwise the request goes to its fingerprint's
/// <see cref="IResponseCacheGrain"/>, where identical requests share one upstream call. Every other request goes
/// straight to the <see cref="RouterEngine"/>, with no work added.
/// </summary>
internal sealed partial class ResponseCache(RouterEngine engine, RouterServices services, IGrainFactory grains, ResponseCacheStorage storage, GrainCalls calls, RouterTelemetry telemetry, IOptions<ResponseCacheOptions> options, ILogger<ResponseCache> logger)
{
    private readonly bool _anyActionCached = services.Catalog.Actions.Values.Any(a => a.Cache?.Enabled == true);

    public async Task<ChatCompletion> CompleteAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken)
    {
        if (!MayUse(context) || await DecideAsync(request, context, stream: false) is not { } use)
        {
            return await engine.CompleteAsync(request, context, cancellationToken);
        }

        var (scoped, args, price, semantic) = use;
        var started = Stopwatch.GetTimestamp();
        var startedAt = services.Time.GetUtcNow();
        if (args.Lookup && await storage.ReadAsync(args) is { Completion: { } stored })
        {
            return await ServeAsync(stored, CacheStatus.Hit, scoped, price, started, startedAt);
        }

        if (semantic is not null)
        {
            (var near, args) = await SemanticAsync(request, scoped, args, semantic, cancellationToken);
            if (near?.Completion is { } similar)
            {
                return await ServeAsync(similar, CacheStatus.Hit, scoped, price, started, startedAt);
            }
        }

        var grain = grains.GetGrain<IResponseCacheGrain>(args.Namespace + "/" + args.Key);
        var result = await WithRetriesAsync(() => grain.CompleteAsync(request, scoped, args, cancellationToken), cancellationToken);
        switch (result.Status)
        {
            case CacheStatus.Miss:
                telemetry.CacheUsed(scoped.TenantId, CacheStatus.Miss, 0m);
                return result.Completion!;
            case CacheStatus.Bypass:
                // The shared call was refused for its own caller's budget or limits: this caller tries on its own.
                return await engine.CompleteAsync(request, scoped, cancellationToken, CacheStatus.Miss);
            default:
                return await ServeAsync(result.Completion!, result.Status, scoped, price, started, startedAt);
        }
    }

    /// <summary>The stream of a request: from the engine directly when the cache cannot apply, else through the cache.</summary>
    public IAsyncEnumerable<ChatStreamItem> StreamAsync(ChatRequest request, RouterContext context, CancellationToken cancellationToken) =>
        MayUse(context) ? CachedStreamAsync(request, context, cancellationToken) : engine.StreamAsync(request, context, cancellationToken);

    private async IAsyncEnumerable<ChatStreamItem> CachedStreamAsync(ChatRequest request, RouterContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await DecideAsync(request, context, stream: true) is not { } use)
        {
            await foreach (var item in engine.StreamAsync(request, context, cancellationToken))
            {
                yield return item;
            }

            yield break;
        }

        var (scoped, args, price, semantic) = use;
        var started = Stopwatch.GetTimestamp();
        var startedAt = services.Time.GetUtcNow();
        var found = args.Lookup ? (await storage.ReadAsync(args))?.Items : null;
        if (found is null && semantic is not null)
        {
            (var near, args) = await SemanticAsync(request, scoped, args, semantic, cancellationToken);
            found = near?.Items;
        }

        if (found is not null)
        {
            await foreach (var item in ReplayAsync(found, CacheStatus.Hit, scoped, price, started, startedAt))
            {
                yield return item;
            }

            yield break;
        }

        var grain = grains.GetGrain<IResponseCacheGrain>(args.Namespace + "/" + args.Key);
        var ticket = await WithRetriesAsync(() => grain.OpenAsync(request, scoped, args), cancellationToken);
        if (ticket.Stored is { } items)
        {
            await foreach (var item in ReplayAsync(items, CacheStatus.Hit, scoped, price, started, startedAt))
            {
                yield return item;
            }

            yield break;
        }

        var shared = new SharedStream(grain, ticket.Flight);
        var first = await shared.FirstAsync(ticket.Status == CacheStatus.Coalesced, cancellationToken);
        if (first is null)
        {
            // The shared call was refused for its own caller's budget or limits: this caller tries on its own.
            await foreach (var item in engine.StreamAsync(request, scoped, cancellationToken, CacheStatus.Miss))
            {
                yield return item;
            }

            yield break;
        }

        if (ticket.Status == CacheStatus.Miss)
        {
            // This request's own upstream call, billed by the engine: relayed as it comes.
            telemetry.CacheUsed(scoped.TenantId, CacheStatus.Miss, 0m);
            await foreach (var item in shared.ReadAsync(first, cancellationToken))
            {
                yield return ReferenceEquals(item, first) ? item with { Cache = CacheStatus.Miss } : item;
            }

            yield break;
        }

        // Coalesced: relayed as it comes, billed once its end shows what it saved.
        var all = new List<ChatStreamItem>();
        await foreach (var item in shared.ReadAsync(first, cancellationToken))
        {
            all.Add(item);
            if (item.Usage is null || item.ErrorClass is not null)
            {
                yield return ReferenceEquals(item, first) ? item with { Cache = CacheStatus.Coalesced } : item;
            }
        }

        var last = all[^1];
        if (last.Usage is not null && last.ErrorClass is null)
        {
            var saved = last.CostUsd ?? 0m;
            await BillAsync(Record(all, CacheStatus.Coalesced, scoped, price, saved, started, startedAt), scoped, price);
            telemetry.CacheUsed(scoped.TenantId, CacheStatus.Coalesced, saved);
            yield return (all.Count == 1 ? last with { Cache = CacheStatus.Coalesced } : last) with { CostUsd = price, SavedUsd = saved };
        }
    }

    /// <summary>A stored stream, item by item, its last item carrying what the caller paid and what it saved; billed before that item.</summary>
    private async IAsyncEnumerable<ChatStreamItem> ReplayAsync(IReadOnlyList<ChatStreamItem> items, string status, RouterContext context, decimal price, long started, DateTimeOffset startedAt)
    {
        var saved = items[^1].CostUsd ?? 0m;
        await BillAsync(Record(items, status, context, price, saved, started, startedAt), context, price);
        telemetry.CacheUsed(context.TenantId, status, saved);
        for (var i = 0; i < items.Count; i++)
        {
            var item = i == 0 ? items[i] with { Cache = status } : items[i];
            yield return i == items.Count - 1 ? item with { CostUsd = price, SavedUsd = saved } : item;
        }
    }

    private async Task<ChatCompletion> ServeAsync(ChatCompletion stored, string status, RouterContext context, decimal price, long started, DateTimeOffset startedAt)
    {
        var saved = stored.CostUsd;
        var record = new UsageRecord(context.RequestId, stored.Provider, stored.Model, TokenUsage.Zero, price, true) { Deployment = stored.Deployment };
        await BillAsync(Complete(record, status, context, saved, started, startedAt), context, price);
        telemetry.CacheUsed(context.TenantId, status, saved);
        return stored with
        {
            Id = "chatcmpl-" + context.RequestId,
            CostUsd = price,
            SavedUsd = saved,
            Attempts = [],
            LatencyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            Created = services.Time.GetUtcNow(),
            Cache = status,
        };
    }

    private UsageRecord Record(IReadOnlyList<ChatStreamItem> items, string status, RouterContext context, decimal price, decimal saved, long started, DateTimeOffset startedAt)
    {
        var head = items[0];
        var record = new UsageRecord(context.RequestId, head.Provider ?? string.Empty, head.Model ?? string.Empty, TokenUsage.Zero, price, true) { Deployment = head.Deployment };
        return Complete(record, status, context, saved, started, startedAt) with { TimeToFirstTokenMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds };
    }

    /// <summary>The ledger row of a call answered from the cache: no tokens, the hit price, what it saved.</summary>
    private UsageRecord Complete(UsageRecord record, string status, RouterContext context, decimal saved, long started, DateTimeOffset startedAt) => record with
    {
        Cache = status,
        SavedUsd = saved,
        RunId = context.RunId,
        Tags = context.Tags,
        Action = context.Action,
        Strategy = context.Strategy,
        LatencyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
        Attempts = 0,
        StartedAt = startedAt,
        CompletedAt = services.Time.GetUtcNow(),
        TraceId = TraceContext.CurrentTraceId(),
        ProjectId = context.ProjectId,
        KeyId = context.KeyId,
        EndUser = context.EndUser,
    };

    /// <summary>
    /// Writes the row of a call answered from the cache, durably, before the answer goes back. A hit price is reserved
    /// first at every level of the call (a caller that cannot pay for the hit is refused as for any call).
    /// </summary>
    private async Task BillAsync(UsageRecord record, RouterContext context, decimal price)
    {
        var budget = grains.GetTenantBudget(context.TenantId);
        string? reservation = null;
        if (price > 0m)
        {
            reservation = context.RequestId + ":cache";
            var path = context.ProjectId is null && context.KeyId is null && context.EndUser is null ? BudgetPath.None : new BudgetPath(context.ProjectId, context.KeyId, context.EndUser);
            await calls.RetryAsync(() => budget.ReserveAsync(reservation, 0, price, context.RunId, true, path), "reserve the budget");
        }

        await calls.RetryAsync(() => budget.SettleAsync(reservation, record), "record the call in the ledger");
    }

    /// <summary>Whether the cache may apply at all, from what is at hand without waiting: most requests leave here.</summary>
    private bool MayUse(RouterContext context)
    {
        var mode = context.Cache?.Mode ?? CacheMode.Default;
        if (mode == CacheMode.Skip)
        {
            return false;
        }

        var lookup = services.Tenants.GetAsync(context.TenantId);
        if (!lookup.IsCompletedSuccessfully)
        {
            return true; // the directory is being refreshed: decided once the tenant is known
        }

        if (lookup.Result is not { } tenant)
        {
            return false; // routing refuses an unknown tenant
        }

        return tenant.Cache?.Enabled != false && (mode != CacheMode.Default || tenant.Cache?.Enabled == true || _anyActionCached);
    }

    private async ValueTask<(RouterContext Context, CacheArgs Args, decimal HitPrice, SemanticCacheSettings? Semantic)?> DecideAsync(ChatRequest request, RouterContext context, bool stream)
    {
        if (await engine.CacheScopeAsync(request, context) is not { } scope)
        {
            return null;
        }

        var o = options.Value;
        if (CachePolicy.Decide(scope.Tenant, scope.Action, request, scope.Context.Cache, o.DefaultTtl, o.MaxBytesPerNamespace) is not { } use)
        {
            return null;
        }

        var key = RequestFingerprint.Of(request, scope.Route, stream);
        var args = new CacheArgs(use.Namespace, key, use.Lookup, use.Ttl, use.MaxAge, use.MaxBytes);
        var semantic = scope.Tenant.Cache?.Semantic;
        if (semantic is not null)
        {
            args = args with { Scope = RequestFingerprint.Of(request with { Messages = [] }, scope.Route, stream), MaxVectors = semantic.MaxEntries };
        }

        return (scope.Context, args, use.HitPriceUsd, semantic);
    }

    /// <summary>
    /// The semantic cache: embeds the request (an embedding call of the caller, billed as one, under request id
    /// <c>&lt;id&gt;/embed</c>) and looks for the stored answer of the nearest earlier request of the same scope at or
    /// above the tenant's threshold. Returns that answer (null for none) and the arguments that keep this request's
    /// vector with the answer it will store. An embedding that fails leaves the exact cache only.
    /// </summary>
    private async Task<(CachedAnswer? Answer, CacheArgs Args)> SemanticAsync(ChatRequest request, RouterContext context, CacheArgs args, SemanticCacheSettings semantic, CancellationToken cancellationToken)
    {
        float[] vector;
        try
        {
            var embedding = await engine.EmbedAsync(
                new EmbeddingRequest([EmbeddingText(request)], semantic.Dimensions),
                context with { Model = semantic.Model, Action = null, Strategy = null, RequestId = context.RequestId + "/embed", Cache = null, MaxCostUsd = null },
                cancellationToken);
            vector = Unit(embedding.Vectors[0]);
        }
        catch (LlmRouterException ex)
        {
            LogEmbeddingFailed(logger, context.TenantId, semantic.Model, ex.GetType().Name);
            return (null, args);
        }

        args = args with { Vector = vector };
        if (!args.Lookup || await storage.NearestAsync(args.Namespace, args.Scope!, vector, semantic.Threshold) is not { } near || near == args.Key)
        {
            return (null, args);
        }

        return (await storage.ReadAsync(args with { Key = near }), args);
    }

    /// <summary>What the semantic cache embeds: every message, role first, one per line.</summary>
    private static string EmbeddingText(ChatRequest request) =>
        string.Join('\n', request.Messages.Select(m => m.Role + ": " + m.Text));

    private static float[] Unit(float[] v)
    {
        double norm = 0;
        foreach (var x in v)
        {
            norm += x * x;
        }

        var scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0f;
        return v.Select(x => x * scale).ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The semantic cache of tenant {Tenant} could not embed a request with {Model} ({Error}); exact matches only for it")]
    private static partial void LogEmbeddingFailed(ILogger logger, string tenant, string model, string error);

    /// <summary>A call to a cache grain, repeated (twice at most) when its silo was lost: the new activation starts over.</summary>
    private static async Task<T> WithRetriesAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (attempt < 3 && !cancellationToken.IsCancellationRequested && GrainCalls.IsClusterFault(ex))
            {
            }
        }
    }

    /// <summary>A reader of a streamed flight on its cache grain.</summary>
    private sealed class SharedStream(IResponseCacheGrain grain, long flight)
    {
        private readonly Queue<ChatStreamItem> _pending = new();
        private int _read;
        private bool _done;

        /// <summary>
        /// The flight's first item; null when this reader coalesced onto a call refused for its own caller's budget or
        /// limits (the reader goes on its own). Any other failure before the first item is this request's too.
        /// </summary>
        public async Task<ChatStreamItem?> FirstAsync(bool coalesced, CancellationToken cancellationToken)
        {
            try
            {
                return await NextAsync(cancellationToken);
            }
            catch (Exception ex) when (coalesced && IsCallerRefusal(ex))
            {
                return null;
            }
        }

        public async IAsyncEnumerable<ChatStreamItem> ReadAsync(ChatStreamItem first, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var finished = false;
            try
            {
                yield return first;
                while (await NextAsync(cancellationToken) is { } item)
                {
                    yield return item;
                }

                finished = true;
            }
            finally
            {
                if (!finished && !_done)
                {
                    // This reader went away before the end. Best effort: a grain that is gone has no flight to leave.
                    try
                    {
                        await grain.LeaveAsync(flight);
                    }
                    catch (Exception ex) when (GrainCalls.IsClusterFault(ex) || ex is OperationCanceledException)
                    {
                    }
                }
            }
        }

        private async Task<ChatStreamItem?> NextAsync(CancellationToken cancellationToken)
        {
            while (_pending.Count == 0 && !_done)
            {
                var batch = await grain.ReadAsync(flight, _read, cancellationToken);
                foreach (var item in batch.Items)
                {
                    _pending.Enqueue(item);
                }

                _read += batch.Items.Count;
                _done = batch.Done;
            }

            return _pending.TryDequeue(out var next) ? next : null;
        }

        private static bool IsCallerRefusal(Exception ex) =>
            ex is BudgetExceededException or TenantRateLimitedException or InvalidRoutingException;
    }
}
