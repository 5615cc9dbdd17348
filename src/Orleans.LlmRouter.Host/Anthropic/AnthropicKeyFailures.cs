using Orleans.LlmRouter.Host.Auth;
using Orleans.LlmRouter.Host.Surfaces;

namespace Orleans.LlmRouter.Host.Anthropic;

/// <summary>
/// The Anthropic surface's answers as endpoint metadata: no or an unknown key is 401 <c>authentication_error</c>, the
/// admin key (valid, but no tenant's) 403 <c>permission_error</c>, failures <see cref="AnthropicErrors"/>.
/// </summary>
internal sealed class AnthropicKeyFailures : IKeyFailureResponder, ISurfaceErrors
{
    public static AnthropicKeyFailures Instance { get; } = new();

    public Task ChallengeAsync(HttpContext http) => AnthropicErrors.WriteUnauthorizedAsync(http);

    public Task ForbidAsync(HttpContext http) =>
        AnthropicErrors.WriteAsync(http, StatusCodes.Status403Forbidden, "permission_error", "This key may not call the Messages API: use a tenant key.");

    public Task WriteExceptionAsync(HttpContext http, Exception ex) => AnthropicErrors.WriteExceptionAsync(http, ex);

    public Task WriteUnexpectedAsync(HttpContext http, string message) => AnthropicErrors.WriteAsync(http, StatusCodes.Status500InternalServerError, "api_error", message);
}
