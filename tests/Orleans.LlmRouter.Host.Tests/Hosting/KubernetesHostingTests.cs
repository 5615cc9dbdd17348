using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.LlmRouter.Host.Hosting;

namespace Orleans.LlmRouter.Host.Tests.Hosting;

/// <summary>
/// <c>LlmRouter:KubernetesHosting</c> (what the Helm chart sets on the silos): Orleans' Kubernetes hosting takes the pod
/// identity from the downward API, and membership stays on PostgreSQL.
/// </summary>
public sealed class KubernetesHostingTests
{
    private static readonly string ShippedConfig = Path.Combine(AppContext.BaseDirectory, "shipped-config");

    [Fact]
    public async Task A_silo_in_a_pod_advertises_the_pod_ip_names_itself_after_the_pod_and_runs_orleans_kubernetes_agent()
    {
        // Only Orleans' Kubernetes hosting reads these variables, and only when it is on: no other test sees them.
        Environment.SetEnvironmentVariable("POD_NAME", "llmrouter-silo-1");
        Environment.SetEnvironmentVariable("POD_NAMESPACE", "llmrouter");
        Environment.SetEnvironmentVariable("POD_IP", "10.244.3.17");
        try
        {
            IServiceCollection? services = null;
            var siloPort = GatewayFixture.FreePort();
            await using var app = GatewayHost.Build(
                [
                    $"--LlmRouter:ConfigPath={ShippedConfig}", "--urls", "http://127.0.0.1:0", "--LlmRouter:Role=silo",
                    "--LlmRouter:Clustering=postgres", "--LlmRouter:Postgres=Host=127.0.0.1;Database=unused", "--LlmRouter:AllowDevKeys=true",
                    "--LlmRouter:KubernetesHosting=true", $"--LlmRouter:SiloPort={siloPort}", "--LlmRouter:GatewayPort=30000",
                ],
                builder => services = builder.Services);

            var endpoints = app.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
            Assert.Equal(IPAddress.Parse("10.244.3.17"), endpoints.AdvertisedIPAddress);
            Assert.Equal(new IPEndPoint(IPAddress.Any, siloPort), endpoints.SiloListeningEndpoint);
            Assert.Equal(new IPEndPoint(IPAddress.Any, 30000), endpoints.GatewayListeningEndpoint);
            Assert.Equal("llmrouter-silo-1", app.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);

            // The agent that watches the cluster's pods (it needs the Role the chart renders) joins the silo's lifecycle;
            // membership is still the ADO.NET table.
            Assert.Contains(services!, d => d.ServiceType == typeof(ILifecycleParticipant<ISiloLifecycle>) && d.ImplementationType?.FullName == "Orleans.Hosting.Kubernetes.KubernetesClusterAgent");
            Assert.Contains(services!, d => d.ImplementationType?.FullName?.Contains("AdoNetClusteringTable", StringComparison.Ordinal) == true || d.ServiceType.FullName?.Contains("IMembershipTable", StringComparison.Ordinal) == true);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POD_NAME", null);
            Environment.SetEnvironmentVariable("POD_NAMESPACE", null);
            Environment.SetEnvironmentVariable("POD_IP", null);
        }
    }

    [Fact]
    public async Task Without_the_setting_a_silo_does_not_use_kubernetes_hosting()
    {
        IServiceCollection? services = null;
        await using var app = GatewayHost.Build(
            [$"--LlmRouter:ConfigPath={ShippedConfig}", "--urls", "http://127.0.0.1:0", $"--LlmRouter:SiloPort={GatewayFixture.FreePort()}"],
            builder => services = builder.Services);
        Assert.DoesNotContain(services!, d => d.ImplementationType?.FullName == "Orleans.Hosting.Kubernetes.KubernetesClusterAgent");
        Assert.Equal(IPAddress.Loopback, app.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.AdvertisedIPAddress);
    }
}
