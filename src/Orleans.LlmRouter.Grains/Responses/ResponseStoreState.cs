using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Responses;

/// <summary>Persisted state of a <see cref="ResponseStoreGrain"/>: the response, or null once deleted or expired.</summary>
[GenerateSerializer, Alias("llmrouter.ResponseStoreState")]
internal sealed class ResponseStoreState
{
    [Id(0)] public StoredResponse? Response { get; set; }
}
