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

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SoftAlert))]
internal sealed partial class AlertJson : System.Text.Json.Serialization.JsonSerializerContext;
