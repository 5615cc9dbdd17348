using System.Globalization;
using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Routing;

/// <summary>
/// Checks a request against <see cref="RequestLimitsOptions"/> before anything routes it; the same checks for the HTTP
/// surfaces (which call them before the router) and the grain API (the router calls them). A request over a limit
/// throws <see cref="InvalidRoutingException"/> with <see cref="InvalidRoutingException.Param"/> naming the field.
/// Linear in the request's size; allocates nothing on the success path.
/// </summary>
internal static class RequestLimits
{
    /// <summary>Checks messages, characters per message, tools and images of a chat request.</summary>
    public static void Validate(ChatRequest request, RequestLimitsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        if (request.Messages.Count > limits.MaxMessages)
        {
            throw Over("messages", $"The request has {request.Messages.Count} messages; this gateway accepts at most {limits.MaxMessages}.");
        }

        if (request.Tools is { } tools && tools.Count > limits.MaxTools)
        {
            throw Over("tools", $"The request offers {tools.Count} tools; this gateway accepts at most {limits.MaxTools}.");
        }

        var images = 0;
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            long characters = 0;
            foreach (var part in message.Content)
            {
                if (part.Kind == ContentPartKind.Image)
                {
                    images++;
                }
                else
                {
                    characters += part.Text?.Length ?? 0;
                }
            }

            if (message.ToolCalls is { } calls)
            {
                foreach (var call in calls)
                {
                    characters += call.ArgumentsJson.Length + call.Name.Length;
                }
            }

            if (characters > limits.MaxCharactersPerMessage)
            {
                throw Over(
                    string.Create(CultureInfo.InvariantCulture, $"messages[{i}].content"),
                    string.Create(CultureInfo.InvariantCulture, $"Message {i} holds {characters} characters; this gateway accepts at most {limits.MaxCharactersPerMessage} per message."));
            }
        }

        if (images > limits.MaxImages)
        {
            throw Over("messages", $"The request holds {images} images; this gateway accepts at most {limits.MaxImages}.");
        }
    }

    /// <summary>Checks the number and size of an embeddings request's inputs.</summary>
    public static void Validate(EmbeddingRequest request, RequestLimitsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        if (request.Inputs.Count > limits.MaxEmbeddingInputs)
        {
            throw Over("input", $"The request has {request.Inputs.Count} inputs; this gateway accepts at most {limits.MaxEmbeddingInputs}.");
        }

        for (var i = 0; i < request.Inputs.Count; i++)
        {
            if ((request.Inputs[i]?.Length ?? 0) > limits.MaxCharactersPerMessage)
            {
                throw Over(
                    string.Create(CultureInfo.InvariantCulture, $"input[{i}]"),
                    string.Create(CultureInfo.InvariantCulture, $"Input {i} holds {request.Inputs[i].Length} characters; this gateway accepts at most {limits.MaxCharactersPerMessage} per input."));
            }
        }
    }

    private static InvalidRoutingException Over(string param, string message) => new(message) { Param = param };
}
