namespace Orleans.LlmRouter.Client;

/// <summary>
/// Per-call routing hints carried in <see cref="Microsoft.Extensions.AI.ChatOptions.AdditionalProperties"/> (or
/// <see cref="Microsoft.Extensions.AI.EmbeddingGenerationOptions.AdditionalProperties"/>) under the
/// <see cref="LlmRouterPropertyNames"/> keys. Null members fall back to <see cref="LlmRouterClientOptions"/>.
/// </summary>
public sealed record LlmRouterRouting
{
    /// <summary>The tenant billed for the call.</summary>
    public string? TenantId { get; init; }

    /// <summary>An action of the catalog; its strategy chains pick the model.</summary>
    public string? Action { get; init; }

    /// <summary>The action's strategy (<c>default</c> when null).</summary>
    public string? Strategy { get; init; }

    /// <summary>Groups calls under a run (per-run token budgets, usage queries).</summary>
    public string? RunId { get; init; }

    /// <summary>Free-form tags recorded with the call in the ledger.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The tenant's project the call is made under.</summary>
    public string? ProjectId { get; init; }

    /// <summary>The id of the tenant key whose budgets and limits apply.</summary>
    public string? KeyId { get; init; }

    /// <summary>The end user the call is made for.</summary>
    public string? EndUser { get; init; }

    /// <summary>Models whose estimated cost exceeds this many USD are skipped.</summary>
    public decimal? MaxCostUsd { get; init; }
}
