using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.OpenAi;

/// <summary>
/// The OpenAI surface's answers as endpoint metadata: a missing, unknown or non-tenant key is <c>invalid_api_key</c>
/// (401), and failures are written by <see cref="OpenAiErrors"/>. Used by chat completions, embeddings, models and
/// the Responses API.
/// </summary>
internal sealed class OpenAiKeyFailures : IKeyFailureResponder, ISurfaceErrors
{
    public static OpenAiKeyFailures Instance { get; } = new();

    public Task ChallengeAsync(HttpContext http) => OpenAiErrors.WriteUnauthorizedAsync(http);

    // The admin key is no tenant key: the same 401 as an unknown key.
    public Task ForbidAsync(HttpContext http) => OpenAiErrors.WriteUnauthorizedAsync(http);

    public Task WriteExceptionAsync(HttpContext http, Exception ex) => OpenAiErrors.WriteExceptionAsync(http, ex);

    public Task WriteUnexpectedAsync(HttpContext http, string message) =>
        OpenAiErrors.WriteAsync(http, StatusCodes.Status500InternalServerError, message, "server_error", null, "internal_error", shouldRetry: false);
}
