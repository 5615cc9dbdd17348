namespace Orleans.LlmRouter.Host.Auth;

/// <summary>
/// Endpoint metadata: how a route group answers a request the key handler challenges (no or an invalid key, 401) or
/// forbids (a valid key the policy refuses), in the surface's own error shape.
/// </summary>
internal interface IKeyFailureResponder
{
    /// <summary>Writes the answer to a request without an acceptable key.</summary>
    Task ChallengeAsync(HttpContext http);

    /// <summary>Writes the answer to a request whose key is valid but not enough.</summary>
    Task ForbidAsync(HttpContext http);
}
