using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.LlmRouter.Contracts;
using Orleans.LlmRouter.Grains.Tenants;

namespace Orleans.LlmRouter.Grains.Tests.Budgets;

[Collection(BudgetClusterCollection.Name)]
public sealed class SoftAlertTests(BudgetClusterFixture fx)
{
    /// <summary>A loopback webhook that keeps the JSON bodies posted to it.</summary>
    private sealed class Hook : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        public Hook()
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            Url = $"http://127.0.0.1:{port}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _serving = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                    {
                        return;
                    }

                    using var reader = new StreamReader(context.Request.InputStream);
                    var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                    lock (Received)
                    {
                        Received.Add(body);
                    }

                    context.Response.StatusCode = 204;
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public List<JsonElement> Received { get; } = [];

        /// <summary>Waits for the first post (off the call path), then a moment for a wrong second one, and stops.</summary>
        public async Task<List<JsonElement>> StopAsync()
        {
            for (var i = 0; i < 100 && Received.Count == 0; i++)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
            _listener.Stop();
            await _serving;
            return Received;
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Close();
            await _serving;
        }
    }

    [Fact]
    public async Task A_soft_alert_is_posted_once_per_window_to_the_tenants_webhook()
    {
        await using var hook = new Hook();
        var tenant = "alerting-" + Guid.NewGuid().ToString("N")[..6];
        await fx.Cluster.Client.GetGrain<ITenantRegistryGrain>("registry").PutAsync(
            new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { DailyTokens = 1000 }, SoftAlertThreshold = 0.1m, AlertWebhook = hook.Url }, create: true);
        foreach (var silo in fx.Cluster.Silos)
        {
            await silo.ServiceProvider.GetRequiredService<TenantDirectory>().RefreshAsync();
        }

        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        for (var i = 0; i < 6; i++)
        {
            await router.CompleteAsync(new ChatRequest([RouterMessage.FromText("user", $"alert me {i}")]) { MaxOutputTokens = 50 }, new RouterContext(tenant) { Model = "cheap" });
        }

        var alert = Assert.Single(await hook.StopAsync());
        Assert.Equal(tenant, alert.GetProperty("tenant").GetString());
        Assert.Equal("tenant", alert.GetProperty("level").GetString());
        Assert.Equal("daily", alert.GetProperty("window").GetString());
        Assert.Equal("tokens", alert.GetProperty("unit").GetString());
        Assert.Equal(1000m, alert.GetProperty("limit").GetDecimal());
        Assert.True(alert.GetProperty("used").GetDecimal() >= 100m);
    }

    [Fact]
    public async Task A_key_with_its_own_threshold_and_webhook_alerts_as_the_key()
    {
        await using var hook = new Hook();
        var registry = fx.Cluster.Client.GetGrain<ITenantRegistryGrain>("registry");
        var tenant = "key-alert-" + Guid.NewGuid().ToString("N")[..6];
        await registry.PutAsync(new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { DailyTokens = 100000 } }, create: true);
        var key = await registry.IssueKeyAsync(tenant, new KeySettings { Budgets = new TenantBudgetLimits { DailyTokens = 1000 }, SoftAlertThreshold = 0.1m, AlertWebhook = hook.Url });
        foreach (var silo in fx.Cluster.Silos)
        {
            await silo.ServiceProvider.GetRequiredService<TenantDirectory>().RefreshAsync();
        }

        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        for (var i = 0; i < 6; i++)
        {
            await router.CompleteAsync(new ChatRequest([RouterMessage.FromText("user", $"key alert {i}")]) { MaxOutputTokens = 50 }, new RouterContext(tenant) { Model = "cheap", KeyId = key.KeyId });
        }

        var alert = Assert.Single(await hook.StopAsync()); // the tenant (at 0.8 of 100000, no webhook) does not post
        Assert.Equal(("key", key.KeyId, "daily"), (alert.GetProperty("level").GetString(), alert.GetProperty("level_id").GetString(), alert.GetProperty("window").GetString()));
        Assert.Equal(1000m, alert.GetProperty("limit").GetDecimal());
    }
}
