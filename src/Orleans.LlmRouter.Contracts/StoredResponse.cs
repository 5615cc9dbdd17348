namespace Orleans.LlmRouter.Contracts;

/// <summary>
/// A response of the Responses API kept for <c>GET /v1/responses/{id}</c> and <c>previous_response_id</c>: the
/// response object as it was returned, the conversation it ends (input and output, in the request model's chat
/// format, without the call's instructions, which a follow-up does not inherit) and when it expires.
/// </summary>
[GenerateSerializer, Immutable, Alias("llmrouter.StoredResponse")]
public sealed record StoredResponse(
    [property: Id(0)] string ResponseJson,
    [property: Id(1)] string ConversationJson,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset ExpiresAt);
