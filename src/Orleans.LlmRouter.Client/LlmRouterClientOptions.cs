namespace Orleans.LlmRouter.Client;

/// <summary>
/// Defaults of the <see cref="LlmRouterChatClient"/> and <see cref="LlmRouterEmbeddingGenerator"/>, applied when a
/// call does not say otherwise (per call: <see cref="Microsoft.Extensions.AI.ChatOptions.ModelId"/> and
/// <see cref="LlmRouterOptionsExtensions.WithLlmRouter(Microsoft.Extensions.AI.ChatOptions, string?, string?, string?, string?, IEnumerable{string}?, decimal?)"/>).
/// </summary>
public sealed class LlmRouterClientOptions
{
    /// <summary>The tenant billed for calls that name none. A call without any tenant fails before reaching the cluster.</summary>
    public string? DefaultTenantId { get; set; }

    /// <summary>
    /// The route of chat calls that name neither a model nor an action: a catalog model, <c>auto</c> (dynamic routing)
    /// or <c>action:&lt;name&gt;</c>. When null, <c>auto</c>.
    /// </summary>
    public string? DefaultModelId { get; set; }

    /// <summary>
    /// The route of embedding calls that name no model: a catalog embedding model or <c>action:&lt;name&gt;</c>. When
    /// null, the router uses its <c>embedding</c> action.
    /// </summary>
    public string? DefaultEmbeddingModelId { get; set; }

    /// <summary>The key of the router grain (a stateless worker, so any key works); <c>0</c> by default.</summary>
    public long RouterGrainKey { get; set; }
}
