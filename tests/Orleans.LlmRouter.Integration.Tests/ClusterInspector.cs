using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Runtime;

namespace Orleans.LlmRouter.Integration.Tests;

/// <summary>
/// An Orleans client of a <see cref="ProcessCluster"/> (PostgreSQL membership) that asks Orleans' management grain where
/// activations are, so a test can check the placement it arranged before it kills a silo.
/// </summary>
public sealed class ClusterInspector : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterInspector(IHost host) => _host = host;

    public static async Task<ClusterInspector> ConnectAsync(string connectionString, string clusterId)
    {
        DbProviderFactories.RegisterFactory("Npgsql", NpgsqlFactory.Instance);
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = clusterId;
                    o.ServiceId = "llmrouter";
                });
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = connectionString;
                });
            })
            .Build();
        await host.StartAsync();
        return new ClusterInspector(host);
    }

    /// <summary>Every activation in the cluster: grain id (as text) → silo ports hosting an activation of it.</summary>
    public async Task<IReadOnlyDictionary<string, int[]>> ActivationsAsync()
    {
        var client = _host.Services.GetRequiredService<IClusterClient>();
        var stats = await client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return stats.GroupBy(s => s.GrainId.ToString()).ToDictionary(g => g.Key, g => g.Select(s => s.SiloAddress.Endpoint.Port).Order().ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
