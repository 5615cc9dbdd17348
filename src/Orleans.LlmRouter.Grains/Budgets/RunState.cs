using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Budgets;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Core.Providers;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Tenants;
using Orleans.LlmRouter.Ledger;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Grains.Budgets;

/// <summary>Serializable usage of one run.</summary>
[GenerateSerializer, Alias("llmrouter.RunState")]
internal sealed class RunState
{
    [Id(0)] public long Tokens { get; set; }

    [Id(1)] public decimal Usd { get; set; }

    [Id(2)] public DateTimeOffset LastAt { get; set; }
}
