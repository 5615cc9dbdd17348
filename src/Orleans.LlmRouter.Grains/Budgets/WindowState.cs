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

/// <summary>Serializable usage of one budget window.</summary>
[GenerateSerializer, Alias("llmrouter.WindowState")]
internal sealed class WindowState
{
    [Id(0)] public string Key { get; set; } = string.Empty;

    [Id(1)] public long Tokens { get; set; }

    [Id(2)] public decimal Usd { get; set; }
}
