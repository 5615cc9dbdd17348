using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.LlmRouter.Configuration;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Core.Catalog;
using Orleans.LlmRouter.Grains.Hosting;
using Orleans.LlmRouter.Grains.Providers;
using Orleans.LlmRouter.Grains.Telemetry;

namespace Orleans.LlmRouter.Grains.Tests.Telemetry;

public sealed class RouterTelemetryTests
{
    private static readonly ModelCatalog Catalog = new CatalogLoader().LoadPath(Path.Combine(AppContext.BaseDirectory, "shipped-config")).Catalog;

    private static RouterTelemetry Create(int maxTenants, IMeterFactory? meters = null) =>
        new(meters, Options.Create(new TelemetryOptions { MaxTenantLabels = maxTenants }),
            new ProviderGate(null!, new RouterClock(new FakeTimeProvider()), NullLogger<ProviderGate>.Instance));

    [Fact]
    public void Tenant_labels_are_capped_and_later_tenants_count_as_other()
    {
        using var telemetry = Create(maxTenants: 2);
        Assert.Equal("a", telemetry.TenantLabel("a"));
        Assert.Equal("b", telemetry.TenantLabel("b"));
        Assert.Equal("other", telemetry.TenantLabel("c"));
        Assert.Equal("a", telemetry.TenantLabel("a")); // a tenant seen before keeps its label
        Assert.Equal("other", telemetry.TenantLabel("d"));
    }

    [Fact]
    public void Capped_tenants_reach_the_cost_metric_as_other()
    {
        using var telemetry = Create(maxTenants: 1);
        var model = Catalog.Models["sim-small"];
        var provider = Catalog.ProviderOf(model);
        var seen = new List<(double Value, string? Tenant)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == LlmRouterTelemetry.Name && i.Name == "llmrouter.cost_usd")
            {
                l.EnableMeasurementEvents(i);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? tenant = null;
            foreach (var t in tags)
            {
                tenant = t.Key == "llmrouter.tenant" ? (string?)t.Value : tenant;
            }

            seen.Add((value, tenant));
        });
        listener.Start();

        telemetry.Billed(new UsageRecord("r1", provider.Id, model.Name, new TokenUsage(10, 5), 0.25m, true), provider, "first");
        telemetry.Billed(new UsageRecord("r2", provider.Id, model.Name, new TokenUsage(10, 5), 0.5m, true), provider, "second");

        Assert.Equal([(0.25, "first"), (0.5, "other")], seen);
    }

    [Fact]
    public void Nothing_is_allocated_and_no_span_started_while_no_listener_is_attached()
    {
        using var telemetry = Create(maxTenants: 10);
        var model = Catalog.Models["sim-small"];
        var provider = Catalog.ProviderOf(model);
        var record = new UsageRecord("r", provider.Id, model.Name, new TokenUsage(10, 5), 0.25m, true);
        var usage = new TokenUsage(10, 5);
        var context = new RouterContext("tenant");
        Assert.Null(RouterTelemetry.StartRequest("chat", context));
        Assert.Null(RouterTelemetry.StartAttempt("chat", model, provider, 1, 100, null));

        // Warm up (JIT), then count.
        Hot(telemetry, record, provider, model, usage, context);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Hot(telemetry, record, provider, model, usage, context);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Hot(RouterTelemetry telemetry, UsageRecord record, ProviderDefinition provider, ModelDefinition model, TokenUsage usage, RouterContext context)
    {
        telemetry.AttemptStarting(model, provider, retry: true, null);
        telemetry.AttemptStarting(model, provider, retry: false, "server_error");
        telemetry.AttemptAnswered(null, "chat", model, provider, usage, null, 12);
        telemetry.AttemptFailed(null, "chat", model, provider, ProviderErrorClass.RateLimited, 429, 3);
        telemetry.GateDenied(null, provider, "provider 'x' rate limit (rpm/tpm) is spent for this minute");
        telemetry.Billed(record, provider, "tenant");
        telemetry.BudgetRejected("tenant");
        telemetry.FirstToken(null, model, 5);
        telemetry.Errored(null, "chat", context, "timeout");
    }
}
