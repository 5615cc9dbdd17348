using Orleans.Runtime;
using Microsoft.Extensions.Logging;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Providers.Abstractions;

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
