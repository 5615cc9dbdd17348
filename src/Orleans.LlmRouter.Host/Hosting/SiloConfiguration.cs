using System.Data.Common;
using System.Globalization;
using System.Net;
using Npgsql;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Storage, ledger and clustering of a silo from settings. Embedded default: localhost clustering, in-memory grain
/// storage and ledger. Durable: <c>LlmRouter:Storage=postgres</c> with <c>LlmRouter:Postgres</c> (an Npgsql connection
/// string) puts grain state (ADO.NET, System.Text.Json) and the ledger on PostgreSQL; <c>LlmRouter:Clustering=postgres</c>
/// also puts membership there so several silos form one cluster.
/// </summary>
public sealed record SiloSettings(
    GatewayRole Role,
    bool Durable,
    string? PostgresConnectionString,
    bool PostgresClustering,
    int SiloPort,
    int GatewayPort,
    string ClusterId,
    string ServiceId,
    LedgerOutageMode OutageMode,
    string SpoolDirectory,
    string? AdvertisedHost,
    bool FastMembership)
{
    public const string Invariant = "Npgsql";

    public static SiloSettings From(IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var storage = config["LlmRouter:Storage"] ?? "memory";
        var durable = storage.Equals("postgres", StringComparison.OrdinalIgnoreCase);
        if (!durable && !storage.Equals("memory", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"LlmRouter:Storage must be 'memory' or 'postgres', not '{storage}'.");
        }

        var clustering = config["LlmRouter:Clustering"] ?? "localhost";
        var pgClustering = clustering.Equals("postgres", StringComparison.OrdinalIgnoreCase);
        var cs = config["LlmRouter:Postgres"];
        if ((durable || pgClustering) && string.IsNullOrWhiteSpace(cs))
        {
            throw new InvalidOperationException("LlmRouter:Postgres (an Npgsql connection string) is required with LlmRouter:Storage=postgres or LlmRouter:Clustering=postgres.");
        }

        var mode = (config["LlmRouter:LedgerOutageMode"] ?? "spool").Replace("-", string.Empty, StringComparison.Ordinal);
        var roleName = config["LlmRouter:Role"] ?? "all";
        if (!Enum.TryParse<GatewayRole>(roleName.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var role))
        {
            throw new InvalidOperationException($"LlmRouter:Role must be 'all' (silo and HTTP), 'silo' or 'frontend', not '{roleName}'.");
        }

        return new SiloSettings(
            role,
            durable,
            cs,
            pgClustering,
            int.TryParse(config["LlmRouter:SiloPort"], CultureInfo.InvariantCulture, out var sp) ? sp : 11111,
            int.TryParse(config["LlmRouter:GatewayPort"], CultureInfo.InvariantCulture, out var gp) ? gp : 30000,
            config["LlmRouter:ClusterId"] ?? "llmrouter-dev",
            config["LlmRouter:ServiceId"] ?? "llmrouter",
            Enum.TryParse<LedgerOutageMode>(mode, ignoreCase: true, out var m) ? m : LedgerOutageMode.Spool,
            config["LlmRouter:SpoolDirectory"] ?? Path.Combine(AppContext.BaseDirectory, "spool"),
            config["LlmRouter:AdvertisedHost"],
            string.Equals(config["LlmRouter:FastMembership"], "true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Configures an Orleans client (front-end role) to find the silos.</summary>
    public void ApplyClient(IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        DbProviderFactories.RegisterFactory(Invariant, NpgsqlFactory.Instance);
        if (PostgresClustering)
        {
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = PostgresConnectionString;
            });
        }
        else
        {
            client.UseLocalhostClustering(GatewayPort, ServiceId, ClusterId);
        }

        if (Durable)
        {
            client.Services.AddSingleton<ILedger>(sp => new PostgresLedger(
                new PostgresLedgerOptions(PostgresConnectionString!) { OutageMode = OutageMode, SpoolDirectory = SpoolDirectory },
                sp.GetRequiredService<ILogger<PostgresLedger>>()));
        }
    }

    /// <summary>Applies clustering (unless the caller manages it, as a test cluster does) and storage to a silo.</summary>
    public void Apply(ISiloBuilder silo, bool includeClustering = true)
    {
        ArgumentNullException.ThrowIfNull(silo);
        DbProviderFactories.RegisterFactory(Invariant, NpgsqlFactory.Instance);
        if (!includeClustering)
        {
            // The caller configures membership.
        }
        else if (PostgresClustering)
        {
            silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            // On one machine silos advertise loopback; in containers each advertises its own address (LlmRouter:AdvertisedHost).
            var address = string.IsNullOrEmpty(AdvertisedHost)
                ? IPAddress.Loopback
                : Dns.GetHostAddresses(AdvertisedHost).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            silo.ConfigureEndpoints(address, SiloPort, GatewayPort, listenOnAnyHostAddress: !string.IsNullOrEmpty(AdvertisedHost));
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = PostgresConnectionString;
            });
        }
        else
        {
            silo.UseLocalhostClustering(SiloPort, GatewayPort, serviceId: ServiceId, clusterId: ClusterId);
        }

        if (FastMembership)
        {
            // For local clusters and tests that kill silos: declare a dead silo within seconds, on one vote.
            silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
            });
        }

        silo.UseSystemTextJsonGrainStorageSerializer();
        if (Durable)
        {
            silo.AddAdoNetGrainStorageAsDefault(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = PostgresConnectionString;
            });
            silo.Services.AddSingleton<ILedger>(sp => new PostgresLedger(
                new PostgresLedgerOptions(PostgresConnectionString!) { OutageMode = OutageMode, SpoolDirectory = SpoolDirectory },
                sp.GetRequiredService<ILogger<PostgresLedger>>()));
        }
        else
        {
            silo.AddMemoryGrainStorageAsDefault();
        }
    }
}

/// <summary>What a gateway process runs.</summary>
public enum GatewayRole
{
    /// <summary>A silo co-hosting the HTTP front end (the default).</summary>
    All,

    /// <summary>A silo only (HTTP serves /healthz and /readyz).</summary>
    Silo,

    /// <summary>The HTTP front end only, reaching the silos as an Orleans client.</summary>
    FrontEnd,
}
