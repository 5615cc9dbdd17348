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

/// <summary>The JSON body POSTed to a tenant's alert webhook.</summary>
internal sealed record SoftAlert(string Tenant, string Window, string Unit, decimal Used, decimal Limit, decimal Threshold, DateTimeOffset At);
