namespace Orleans.LlmRouter.Host.Responses;

/// <summary>
/// How long the Responses API keeps a response created with <c>store</c> (the default) for
/// <c>GET /v1/responses/{id}</c> and <c>previous_response_id</c> (section <c>LlmRouter:Responses</c>).
/// </summary>
internal sealed class ResponseStoreOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmRouter:Responses";

    /// <summary>How long a stored response is kept (default 30 days, as OpenAI keeps them); positive.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
}
