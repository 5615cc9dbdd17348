using Orleans.LlmRouter.Host.Auth;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>The OpenAI surface's 401: a missing, unknown or non-tenant key is <c>invalid_api_key</c> in the OpenAI shape.</summary>
internal sealed class OpenAiKeyFailures : IKeyFailureResponder
{
    public static OpenAiKeyFailures Instance { get; } = new();

    public Task ChallengeAsync(HttpContext http) => OpenAiErrors.WriteUnauthorizedAsync(http);

    // The admin key is no tenant key: the same 401 as an unknown key.
    public Task ForbidAsync(HttpContext http) => OpenAiErrors.WriteUnauthorizedAsync(http);
}
