namespace Orleans.LlmRouter.Providers.Gemini;

/// <summary>A request Gemini cannot take, found before sending (becomes a bad-request provider error).</summary>
#pragma warning disable CA1032 // Internal, always built with its message.
internal sealed class GeminiRequestException(string message) : Exception(message);
