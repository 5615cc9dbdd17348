using System.Runtime.CompilerServices;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Providers.Abstractions;

namespace Orleans.LlmRouter.Host.Tests.ProviderTypes;

/// <summary>Answers with the last user message behind a prefix (from the provider's YAML options), in two stream chunks.</summary>
internal sealed class EchoChatProvider(string prefix) : IChatProvider
{
    public Task<ProviderResponse> CompleteAsync(ProviderCall call, CancellationToken cancellationToken) =>
        Task.FromResult(new ProviderResponse(new RouterMessage("assistant", [ContentPart.FromText(prefix + LastUser(call))]), "stop", new TokenUsage(11, 7), "echo-1"));

    public async IAsyncEnumerable<ProviderStreamChunk> StreamAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        yield return new ProviderStreamChunk(TextDelta: prefix);
        yield return new ProviderStreamChunk(TextDelta: LastUser(call));
        yield return new ProviderStreamChunk(FinishReason: "stop", Usage: new TokenUsage(11, 7));
    }

    public Task<EmbeddingResponse> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>(["echo"]);

    public Task<ProviderHealthProbe> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(new ProviderHealthProbe(true, null, TimeSpan.Zero));

    private static string LastUser(ProviderCall call) => call.Request.Messages.Last(m => m.Role == "user").Text;
}
