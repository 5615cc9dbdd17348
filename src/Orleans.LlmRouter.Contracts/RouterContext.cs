namespace Orleans.LlmRouter.Contracts;

/// <summary>Who asks and how to route: tenant, run, action/strategy or explicit model, limits, tags.</summary>
[GenerateSerializer, Immutable, Alias("llmrouter.RoutingContext")]
public sealed record RouterContext(
    [property: Id(0)] string TenantId)
{
    /// <summary>Unique id of this request; also the ledger's idempotency key.</summary>
    [Id(1)] public string RequestId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>The caller's run (a group of requests, such as one agent task), for per-run budgets; null for none.</summary>
    [Id(2)] public string? RunId { get; init; }

    /// <summary>An action name from the catalog (routes through its strategy chains).</summary>
    [Id(3)] public string? Action { get; init; }

    /// <summary>A strategy of the action; <c>default</c> when null.</summary>
    [Id(4)] public string? Strategy { get; init; }

    /// <summary>An explicit catalog model, or <c>auto</c> for dynamic routing.</summary>
    [Id(5)] public string? Model { get; init; }

    /// <summary>The most this request may cost, in USD: candidates estimated above it are skipped; null for no cap.</summary>
    [Id(6)] public decimal? MaxCostUsd { get; init; }

    /// <summary>Free-form tags, stored with the request's ledger row.</summary>
    [Id(7)] public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The tenant's project the call is made under; null for none (a key of a project sets it).</summary>
    [Id(8)] public string? ProjectId { get; init; }

    /// <summary>The id of the tenant key the call is made with (never the secret); null for none.</summary>
    [Id(9)] public string? KeyId { get; init; }

    /// <summary>The end user the call is made for (1-256 printable characters); null for none.</summary>
    [Id(10)] public string? EndUser { get; init; }

    /// <summary>What the caller asks of the response cache; null for the tenant's and action's settings.</summary>
    [Id(11)] public CacheDirective? Cache { get; init; }
}
