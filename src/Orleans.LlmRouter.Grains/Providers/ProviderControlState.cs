using Orleans.LlmRouter.Contracts;

namespace Orleans.LlmRouter.Grains.Providers;

/// <summary>Persisted control-plane state of a provider: what must survive deactivation.</summary>
[GenerateSerializer, Alias("llmrouter.ProviderControlState")]
internal sealed class ProviderControlState
{
    [Id(0)] public ProviderCircuitState State { get; set; }

    [Id(1)] public DateTimeOffset? OpenUntil { get; set; }

    [Id(2)] public DateTimeOffset? PausedUntil { get; set; }

    [Id(3)] public bool Disabled { get; set; }
}
