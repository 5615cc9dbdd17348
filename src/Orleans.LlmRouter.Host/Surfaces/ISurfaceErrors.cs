namespace Orleans.LlmRouter.Host.Surfaces;

/// <summary>
/// Endpoint metadata: a surface's one mapping of exceptions to responses in its own error shape. The last-line
/// exception handler answers through the failing endpoint's surface, so an unexpected failure on <c>/v1/messages</c>
/// reads as Anthropic's <c>api_error</c> and one on <c>/v1/chat/completions</c> as OpenAI's <c>server_error</c>.
/// </summary>
internal interface ISurfaceErrors
{
    /// <summary>Writes the answer to a failure <see cref="SurfaceFailure.Maps"/> knows.</summary>
    Task WriteExceptionAsync(HttpContext http, Exception ex);

    /// <summary>Writes a 500 for a defect.</summary>
    Task WriteUnexpectedAsync(HttpContext http, string message);
}
