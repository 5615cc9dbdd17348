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
    [Fact]
    public async Task A_soft_alert_is_posted_once_per_window_to_the_tenants_webhook()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new List<JsonElement>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream);
                var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                lock (received)
                {
                    received.Add(body);
                }

                context.Response.StatusCode = 204;
                context.Response.Close();
            }
        });

        var tenant = "alerting-" + Guid.NewGuid().ToString("N")[..6];
        await fx.Cluster.Client.GetGrain<ITenantRegistryGrain>("registry").PutAsync(
            new TenantSettings { Id = tenant, Budgets = new TenantBudgetLimits { DailyTokens = 1000 }, SoftAlertThreshold = 0.1m, AlertWebhook = $"http://127.0.0.1:{port}/hook/" }, create: true);
        foreach (var silo in fx.Cluster.Silos)
        {
            await silo.ServiceProvider.GetRequiredService<TenantDirectory>().RefreshAsync();
        }

        var router = fx.Cluster.Client.GetGrain<IRouterGrain>(0);
        for (var i = 0; i < 6; i++)
        {
            await router.CompleteAsync(new ChatRequest([RouterMessage.FromText("user", $"alert me {i}")]) { MaxOutputTokens = 50 }, new RouterContext(tenant) { Model = "cheap" });
        }

        for (var i = 0; i < 100 && received.Count == 0; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken); // the webhook is posted off the call path
        }

        await Task.Delay(200, TestContext.Current.CancellationToken); // room for a wrong second post to arrive
        listener.Stop();
        await serving;
        var alert = Assert.Single(received);
        Assert.Equal(tenant, alert.GetProperty("tenant").GetString());
        Assert.Equal("daily", alert.GetProperty("window").GetString());
        Assert.Equal("tokens", alert.GetProperty("unit").GetString());
        Assert.Equal(1000m, alert.GetProperty("limit").GetDecimal());
        Assert.True(alert.GetProperty("used").GetDecimal() >= 100m);
    }
}
