using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Pricing;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.OpenAi;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Admin;

/// <summary>
/// The admin API under <c>/api/v1</c> (admin key; a tenant key may read its own usage): catalog, dry-run routing,
/// provider health and run-time enablement, actions, pricing, tenant usage (JSON or CSV), the reconcile audit of a
/// tenant's counters against the ledger, and the ledger's quarantine. Errors are RFC 7807, mapped in one place
/// (<see cref="AdminProblems"/>); keys are checked by the <c>admin</c> and <c>tenant-or-admin</c> policies.
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        // One error mapping for the surface (AdminProblems); keys through the LlmRouterKey scheme and named policies.
        var api = routes.MapGroup("/api/v1").WithTags("admin").AddEndpointFilter(AdminProblems.FilterAsync);
        var admin = api.MapGroup(string.Empty).RequireAuthorization(LlmRouterAuthentication.AdminPolicy).WithMetadata(AdminKeyFailures.AdminOnly);
        admin.MapGet("/models", Models);
        admin.MapPost("/route", RouteAsync);
        admin.MapGet("/health/providers", ProviderHealthAsync);
        admin.MapPost("/providers/{id}/enable", (string id, IGrainFactory grains, ModelCatalog catalog, IServiceProvider services) => SetEnabledAsync(id, true, grains, catalog, services));
        admin.MapPost("/providers/{id}/disable", (string id, IGrainFactory grains, ModelCatalog catalog, IServiceProvider services) => SetEnabledAsync(id, false, grains, catalog, services));
        admin.MapGet("/tasks", Tasks);
        admin.MapGet("/pricing/compare", Compare);
        admin.MapGet("/pricing/cheapest", Cheapest);
        admin.MapGet("/ledger/quarantine", QuarantineAsync);
        admin.MapGet("/tenants/{id}/cache", (string id, IGrainFactory grains, TenantDirectory tenants) => CacheAsync(id, purge: false, grains, tenants));
        admin.MapDelete("/tenants/{id}/cache", (string id, IGrainFactory grains, TenantDirectory tenants) => CacheAsync(id, purge: true, grains, tenants));
        admin.MapTenantEndpoints();
        admin.MapRuntimeEndpoints();

        // Usage and its audit: the admin key, or the tenant's own key.
        api.MapGet("/tenants/{id}/usage", UsageAsync).RequireAuthorization(LlmRouterAuthentication.TenantOrAdminPolicy).WithMetadata(AdminKeyFailures.TenantOrAdmin);
        api.MapGet("/tenants/{id}/reconcile", ReconcileAsync).RequireAuthorization(LlmRouterAuthentication.TenantOrAdminPolicy).WithMetadata(AdminKeyFailures.TenantOrAdmin);
        return routes;
    }

    private static Ok<ModelView[]> Models(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.Models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => View(m, catalog)).ToArray());

    private static async Task<Ok<RouteExplanation>> RouteAsync(HttpContext http, IGrainFactory grains, TenantDirectory tenants)
    {
        // Bad JSON, a bad request or one that cannot be routed: problem details by AdminProblems.
        using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        var parsed = OpenAiRequestParser.Parse(doc.RootElement);
        var tenantId = http.Request.Query["tenant"].FirstOrDefault() ?? http.Request.Headers["X-LlmRouter-Tenant"].FirstOrDefault() ?? "admin";
        var tenant = await tenants.GetAsync(tenantId) ?? new TenantDefinition(tenantId, null, [], BudgetLimits.None, ProviderLimits.Unlimited, new HashSet<string>(), new HashSet<string>(), 1m, "UTC", SourceLocation.None);
        var context = RoutingHeaders.From(http, tenant, parsed.Model);
        return TypedResults.Ok(await grains.GetRouter().ExplainAsync(parsed.Request, context));
    }

    /// <summary>Every provider, model scope and deployment with its health (also the console's providers page).</summary>
    internal static async Task<Ok<ProviderHealthView[]>> ProviderHealthAsync(IGrainFactory grains, ModelCatalog catalog)
    {
        var views = new List<ProviderHealthView>();
        foreach (var p in catalog.Providers.Values.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            ProviderHealth? health = p.Enabled ? await grains.GetProviderScope(p.Id).GetHealthAsync() : null;
            views.Add(new ProviderHealthView(p.Id, p.Type, p.Enabled && health is { Disabled: false }, p.DisabledReason ?? (health is { Disabled: true } ? "disabled at run time" : null), health));

            // Models with their own limits or breaker have their own state, listed as model@provider; so has every
            // deployment of a model with deployments, listed as model@deployment.
            var scoped = catalog.Models.Values.Where(m => m.Deployments.Count == 0 && m.Provider == p.Id && m.HasOwnScope)
                .Concat(catalog.Models.Values.SelectMany(catalog.DeploymentsOf).Where(v => v.Provider == p.Id));
            foreach (var m in scoped.OrderBy(m => ModelScopes.IdOf(p, m), StringComparer.Ordinal))
            {
                var scope = ModelScopes.IdOf(p, m);
                ProviderHealth? own = p.Enabled ? await grains.GetProviderScope(scope).GetHealthAsync() : null;
                views.Add(new ProviderHealthView(scope, p.Type, p.Enabled && own is { Disabled: false }, p.DisabledReason ?? (own is { Disabled: true } ? "disabled at run time" : null), own));
            }
        }

        return TypedResults.Ok(views.ToArray());
    }

    /// <summary>Enables or disables a provider scope at run time (also the console's providers page).</summary>
    internal static async Task<Results<Ok<ProviderSnapshot>, ProblemHttpResult>> SetEnabledAsync(string id, bool enabled, IGrainFactory grains, ModelCatalog catalog, IServiceProvider services)
    {
        if (catalog.ResolveScope(id) is not { } provider)
        {
            return TypedResults.Problem($"Provider '{id}' does not exist (a model with its own limits or breaker is 'model@provider').", statusCode: 404, title: "Not found");
        }

        if (!provider.Enabled)
        {
            return TypedResults.Problem($"Provider '{id}' is disabled by configuration ({provider.DisabledReason}); it cannot be enabled at run time.", statusCode: 409, title: "Conflict");
        }

        var snapshot = await grains.GetProviderScope(id).SetEnabledAsync(enabled);

        // The grain pushes the change to every silo (one-way); the silo that took the request applies it at once, so
        // its next call already sees it.
        if (services.GetService(typeof(Grains.Providers.ProviderGate)) is IProviderObserver gate)
        {
            await gate.OnSnapshot(snapshot);
        }

        return TypedResults.Ok(snapshot);
    }

    private static Ok<TaskView[]> Tasks(ModelCatalog catalog) =>
        TypedResults.Ok(catalog.Actions.Values.OrderBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => new TaskView(a.Name, a.Description, a.Requires.Select(c => c.ToName()).Order(StringComparer.Ordinal).ToArray(), a.Strategies.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray())))
            .ToArray());

    private static Results<Ok<PriceComparison>, ProblemHttpResult> Compare(ModelCatalog catalog, string? models, long? input_tokens, long? output_tokens, long? cached_tokens)
    {
        if (input_tokens is null or < 0 || output_tokens is null or < 0 || cached_tokens is < 0)
        {
            return TypedResults.Problem("input_tokens and output_tokens are required non-negative integers (cached_tokens optional).", statusCode: 400, title: "Invalid request");
        }

        var names = (models ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var quotes = PriceBook.Compare(catalog, names, input_tokens.Value, output_tokens.Value, cached_tokens ?? 0, out var unknown);
        if (unknown.Count > 0)
        {
            return TypedResults.Problem("Unknown model(s): " + string.Join(", ", unknown), statusCode: 404, title: "Not found");
        }

        return TypedResults.Ok(new PriceComparison(input_tokens.Value, output_tokens.Value, cached_tokens ?? 0, quotes.Select(Quote).ToArray()));
    }

    private static Results<Ok<QuoteView>, ProblemHttpResult> Cheapest(ModelCatalog catalog, string? capability, long? input_tokens, long? output_tokens)
    {
        if (input_tokens is null or < 0 || output_tokens is null or < 0)
        {
            return TypedResults.Problem("input_tokens and output_tokens are required non-negative integers.", statusCode: 400, title: "Invalid request");
        }

        var caps = new HashSet<Capability>();
        foreach (var name in (capability ?? "chat").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!CapabilityNames.TryParse(name, out var c))
            {
                return TypedResults.Problem($"Unknown capability '{name}' (known: {string.Join(", ", CapabilityNames.All)}).", statusCode: 400, title: "Invalid request");
            }

            caps.Add(c);
        }

        return PriceBook.Cheapest(catalog, caps, input_tokens.Value, output_tokens.Value) is { } q
            ? TypedResults.Ok(Quote(q))
            : TypedResults.Problem("No enabled model has these capabilities and fits the prompt.", statusCode: 404, title: "Not found");
    }

    private static async Task<IResult> UsageAsync(HttpContext http, string id, ILedger ledger, IGrainFactory grains,
        DateTimeOffset? from, DateTimeOffset? to, string? model, string? provider, string? action, string? tag, string? format, string? groupBy)
    {
        var query = new UsageQuery(id) { From = from, To = to, Model = model, Provider = provider, Action = action, Tag = tag };
        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true);
        if (groupBy is not null)
        {
            return await LevelEndpoints.GroupedUsageAsync(http, ledger, query, groupBy, csv);
        }

        if (csv)
        {
            await WriteCsvAsync(http, ledger, query);
            return TypedResults.Empty;
        }

        var report = await ledger.ReportAsync(query, http.RequestAborted);
        var counters = await grains.GetTenantBudget(id).GetUsageAsync();
        return TypedResults.Ok(new UsageView(id, report.Totals, report.Days.ToArray(), counters));
    }

    /// <summary>
    /// The size of a tenant's response cache, or its purge: its own namespace, or the shared namespace it names (which
    /// empties it for every tenant sharing it).
    /// </summary>
    private static async Task<IResult> CacheAsync(string id, bool purge, IGrainFactory grains, TenantDirectory tenants)
    {
        if (await tenants.GetAsync(id) is not { } tenant)
        {
            return TypedResults.Problem($"Tenant '{id}' does not exist.", statusCode: 404, title: "Not found");
        }

        var ns = Grains.Caching.CachePolicy.NamespaceOf(tenant);
        var store = grains.GetGrain<Grains.Caching.IResponseCacheAdminGrain>(0);
        var purged = purge ? await store.PurgeAsync(ns) : 0;
        var (entries, bytes) = await store.SizeAsync(ns);
        return TypedResults.Ok(new CacheView(id, ns, entries, bytes, purge ? purged : null));
    }

    private static async Task<IResult> ReconcileAsync(HttpContext http, string id, ILedger ledger, IGrainFactory grains, TenantDirectory tenants)
    {
        if (await tenants.GetAsync(id) is not { } tenant)
        {
            return TypedResults.Problem($"Tenant '{id}' does not exist.", statusCode: 404, title: "Not found");
        }

        var time = http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        return TypedResults.Ok(await Reconciliation.ReconcileAsync(id, tenant.TimeZone, ledger, grains, time, http.RequestAborted));
    }

    private static async Task<IResult> QuarantineAsync(HttpContext http, ILedger ledger, int? limit)
    {
        if (limit is < 1 or > 1000)
        {
            return TypedResults.Problem("limit must be between 1 and 1000.", statusCode: 400, title: "Invalid request");
        }

        return TypedResults.Ok(await ledger.QuarantineAsync(limit ?? 100, http.RequestAborted));
    }

    private static Task WriteCsvAsync(HttpContext http, ILedger ledger, UsageQuery query) =>
        WriteCsvAsync(http, ledger.QueryAsync(query, http.RequestAborted), $"usage-{query.TenantId}.csv");

    /// <summary>Ledger rows as CSV, the usage export's columns (also the console's call log export).</summary>
    internal static async Task WriteCsvAsync(HttpContext http, IAsyncEnumerable<LedgerRecord> rows, string fileName)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        var sb = new StringBuilder("request_id,tenant_id,run_id,tags,action,strategy,provider,model,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost_usd,latency_ms,ttft_ms,success,error_class,attempts,started_at,completed_at,usage_estimated,cache_write_tokens,cache_write_1h_tokens,trace_id,kind,project_id,key_id,end_user,cache,saved_usd\n");
        await foreach (var r in rows)
        {
            sb.AppendJoin(',', Csv(r.RequestId), Csv(r.TenantId), Csv(r.RunId), Csv(string.Join(';', r.Tags)), Csv(r.Action), Csv(r.Strategy), Csv(r.Provider), Csv(r.Model),
                r.PromptTokens.ToString(CultureInfo.InvariantCulture), r.CompletionTokens.ToString(CultureInfo.InvariantCulture), r.CachedTokens.ToString(CultureInfo.InvariantCulture),
                r.ReasoningTokens.ToString(CultureInfo.InvariantCulture), r.CostUsd.ToString(CultureInfo.InvariantCulture), r.LatencyMs.ToString("0.###", CultureInfo.InvariantCulture),
                r.TimeToFirstTokenMs?.ToString("0.###", CultureInfo.InvariantCulture) ?? string.Empty, r.Success ? "true" : "false", Csv(r.ErrorClass),
                r.Attempts.ToString(CultureInfo.InvariantCulture), r.StartedAt.ToString("O", CultureInfo.InvariantCulture), r.CompletedAt.ToString("O", CultureInfo.InvariantCulture),
                r.UsageEstimated ? "true" : "false", r.CacheWriteTokens.ToString(CultureInfo.InvariantCulture), r.CacheWrite1hTokens.ToString(CultureInfo.InvariantCulture), Csv(r.TraceId), r.Kind,
                Csv(r.ProjectId), Csv(r.KeyId), Csv(r.EndUser), Csv(r.Cache), r.SavedUsd.ToString(CultureInfo.InvariantCulture));
            sb.Append('\n');
            if (sb.Length > 32_768)
            {
                await http.Response.WriteAsync(sb.ToString(), http.RequestAborted);
                sb.Clear();
            }
        }

        await http.Response.WriteAsync(sb.ToString(), http.RequestAborted);
    }

    /// <summary>One CSV cell: quoted when needed, a leading formula character defused.</summary>
    internal static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        // Quote when needed, and defuse spreadsheet formulas.
        var safe = value[0] is '=' or '+' or '-' or '@' ? "'" + value : value;
        return safe.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }

    private static ModelView View(ModelDefinition m, ModelCatalog catalog) => new(
        m.Name, m.Provider, m.ProviderModel, catalog.ProviderOf(m).Enabled, m.Capabilities.Select(c => c.ToName()).Order(StringComparer.Ordinal).ToArray(),
        m.ContextWindow, m.MaxOutputTokens, m.Tier, PricingView.Of(m.Pricing));

    private static QuoteView Quote(ModelQuote q) => new(q.Model, q.Provider, q.Enabled, q.CostUsd);

    public sealed record PricingView(decimal Input, decimal Output, decimal? CachedInput, decimal? CacheWrite, decimal? CacheWrite1h, decimal? Reasoning, IReadOnlyList<LongContextView> LongContext)
    {
        public static PricingView Of(ModelPricing p) => new(p.Input, p.Output, p.CachedInput, p.CacheWrite, p.CacheWrite1h, p.Reasoning,
            p.LongContext.Select(t => new LongContextView(t.ThresholdTokens, t.Input, t.Output, t.CachedInput, t.CacheWrite, t.CacheWrite1h, t.Reasoning)).ToList());
    }

    public sealed record LongContextView(long AboveTokens, decimal Input, decimal Output, decimal? CachedInput, decimal? CacheWrite, decimal? CacheWrite1h, decimal? Reasoning);

    public sealed record ModelView(string Name, string Provider, string ProviderModel, bool Enabled, string[] Capabilities, int ContextWindow, int MaxOutputTokens, string? Tier, PricingView PricingPerMillionUsd);

    public sealed record ProviderHealthView(string Id, string Type, bool Enabled, string? DisabledReason, ProviderHealth? Health);

    public sealed record TaskView(string Name, string? Description, string[] Requires, Dictionary<string, string[]> Strategies);

    public sealed record QuoteView(string Model, string Provider, bool Enabled, decimal CostUsd);

    public sealed record PriceComparison(long InputTokens, long OutputTokens, long CachedTokens, QuoteView[] Models);

    public sealed record UsageView(string TenantId, UsageTotals Totals, UsageDay[] Days, TenantUsage Counters);

    /// <summary>A tenant's response cache: its namespace, what it holds, and how many answers a purge removed.</summary>
    internal sealed record CacheView(string Tenant, string Namespace, int Entries, long Bytes, int? Purged);
}
