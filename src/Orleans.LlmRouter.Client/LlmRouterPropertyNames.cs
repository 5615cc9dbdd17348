namespace Orleans.LlmRouter.Client;

/// <summary>Keys the client reads from and writes to <c>AdditionalProperties</c>.</summary>
public static class LlmRouterPropertyNames
{
    /// <summary>Request: the tenant id (string).</summary>
    public const string Tenant = "llmrouter.tenant";

    /// <summary>Request: the action name (string).</summary>
    public const string Action = "llmrouter.action";

    /// <summary>Request: the strategy name (string).</summary>
    public const string Strategy = "llmrouter.strategy";

    /// <summary>Request: the run id (string).</summary>
    public const string Run = "llmrouter.run";

    /// <summary>Request: tags (a string sequence, or one comma-separated string).</summary>
    public const string Tags = "llmrouter.tags";

    /// <summary>The tenant's project the call is made under (<see cref="Contracts.RouterContext.ProjectId"/>): its budgets and limits apply.</summary>
    public const string Project = "llmrouter.project";

    /// <summary>The id of a tenant key whose budgets and limits the call is made under (<see cref="Contracts.RouterContext.KeyId"/>).</summary>
    public const string Key = "llmrouter.key";

    /// <summary>The end user the call is made for (<see cref="Contracts.RouterContext.EndUser"/>).</summary>
    public const string EndUser = "llmrouter.end_user";

    /// <summary>Request: the maximum estimated cost in USD (decimal, double or invariant-culture string).</summary>
    public const string MaxCostUsd = "llmrouter.max_cost_usd";

    /// <summary>Response: the provider that served the call (string).</summary>
    public const string Provider = "provider";

    /// <summary>Response: the deployment that served the call, for a model with several deployments (string; absent otherwise).</summary>
    public const string Deployment = "deployment";

    /// <summary>Response: the provider's own model name (string).</summary>
    public const string ProviderModel = "provider_model";

    /// <summary>Response: what the call cost in USD (decimal).</summary>
    public const string CostUsd = "cost_usd";

    /// <summary>Response: how many model attempts the router made (int).</summary>
    public const string Attempts = "attempts";

    /// <summary>Response: the router's end-to-end latency in milliseconds (double).</summary>
    public const string LatencyMs = "latency_ms";
}
