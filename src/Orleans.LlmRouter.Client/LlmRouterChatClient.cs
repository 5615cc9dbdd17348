using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Orleans.LlmRouter.Client.Mapping;
using Orleans.LlmRouter.Contracts;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Orleans.LlmRouter.Client;

/// <summary>
/// An <see cref="IChatClient"/> over the cluster's router grain: every call is routed, budgeted, priced and recorded
/// by the router exactly as an HTTP call would be, without an HTTP hop. Works wherever an <see cref="IGrainFactory"/>
/// is available: in a process that hosts a silo, or in one that runs an Orleans client.
/// </summary>
/// <remarks>
/// <para><see cref="ChatOptions.ModelId"/> names a catalog model, <c>auto</c>, or <c>action:&lt;name&gt;</c>; tenant, action,
/// strategy, run, tags and max cost come from <see cref="LlmRouterOptionsExtensions.WithLlmRouter(ChatOptions, string?, string?, string?, string?, IEnumerable{string}?, decimal?)"/>
/// and <see cref="LlmRouterClientOptions"/>.</para>
/// <para>Responses carry the routed model in <see cref="ChatResponse.ModelId"/>, and the provider and the cost in USD in
/// <see cref="ChatResponse.AdditionalProperties"/> (<see cref="LlmRouterPropertyNames"/>). The router's typed errors —
/// <see cref="AllModelsFailedException"/>, <see cref="InvalidRoutingException"/>, <see cref="TokenBudgetExceededException"/>,
/// <see cref="CostBudgetExceededException"/> — surface unchanged. A stream whose model fails after it started ends with an
/// update carrying the partial usage and an <see cref="ErrorContent"/>, then throws <see cref="LlmRouterException"/>.</para>
/// <para>Not supported by the router and ignored: <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.FrequencyPenalty"/>,
/// <see cref="ChatOptions.PresencePenalty"/>, <see cref="ChatOptions.ConversationId"/>.</para>
/// <para>Awaits keep the caller's context (no <c>ConfigureAwait(false)</c>), so grain code may use the client too.</para>
/// </remarks>
public sealed class LlmRouterChatClient : IChatClient
{
    /// <summary>The provider name reported in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "orleans-llmrouter";

    private readonly IGrainFactory _grains;
    private readonly LlmRouterClientOptions _options;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates a client that calls the router grain through <paramref name="grains"/>.</summary>
    public LlmRouterChatClient(IGrainFactory grains, LlmRouterClientOptions? options = null)
    {
        _grains = grains ?? throw new ArgumentNullException(nameof(grains));
        _options = options ?? new LlmRouterClientOptions();
        _metadata = new ChatClientMetadata(ProviderName, defaultModelId: _options.DefaultModelId ?? "auto");
    }

    private IRouterGrain Router => _grains.GetRouter(_options.RouterGrainKey);

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = ChatMapping.ToRequest(messages, options);
        var context = RouteMapping.ForChat(options, _options);
        using var cancelWhen = Router.CancelWhen(context, cancellationToken);
        var completion = await Router.CompleteAsync(request, context, cancellationToken);
        return ChatMapping.ToResponse(completion);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<AiChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ChatMapping.ToRequest(messages, options);
        var context = RouteMapping.ForChat(options, _options);
        var responseId = "chatcmpl-" + context.RequestId;
        var created = DateTimeOffset.UtcNow;
        string? model = null;
        string? provider = null;
        ChatStreamItem? failed = null;
        using var cancelWhen = Router.CancelWhen(context, cancellationToken);
        await foreach (var item in Router.StreamAsync(request, context, cancellationToken).WithCancellation(cancellationToken))
        {
            model ??= item.Model;
            provider ??= item.Provider;
            yield return ChatMapping.ToUpdate(item, responseId, model, created);
            if (item.ErrorClass is not null)
            {
                failed = item;
                break;
            }
        }

        if (failed is not null)
        {
            throw new LlmRouterException(
                $"The stream from model '{model}' (provider '{provider}') failed after it started: {failed.ErrorClass?.Name()}: {failed.ErrorMessage}. The partial usage was billed.");
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return _metadata;
        }

        if (serviceType == typeof(IRouterGrain))
        {
            return Router;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The grain factory belongs to the host.
    }
}
