using System.Data.Common;
using System.Net;
using Npgsql;
using Orleans.LlmRouter.Ledger;

namespace Orleans.LlmRouter.Host.Hosting;

/// <summary>
/// Storage, ledger and clustering of a silo from settings (<see cref="LlmRouterStorageOptions"/>, <see cref="LlmRouterClusterOptions"/>). Embedded default: localhost clustering, in-memory grain
/// storage and ledger. Durable: <c>LlmRouter:Storage=postgres</c> with <c>LlmRouter:Postgres</c> (an Npgsql connection
/// string) puts grain state (ADO.NET, System.Text.Json) and the ledger on PostgreSQL; <c>LlmRouter:Clustering=postgres</c>
/// also puts membership there so several silos form one cluster.
/// </summary>
internal sealed record SiloSettings(
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
    /// <summary>
    /// Failure detection: how soon survivors declare a dead silo dead, which bounds how long a call that needed it waits
    /// (see <see cref="MembershipSettings"/>). <c>LlmRouter:FastMembership=true</c> selects <see cref="MembershipSettings.Fast"/>.
    /// </summary>
    public MembershipSettings Membership { get; init; } = FastMembership ? MembershipSettings.Fast : MembershipSettings.Production;

    /// <summary>
    /// How often a separate front end re-reads the gateway list from the membership table (Orleans' default is a minute):
    /// a silo declared dead stops receiving new calls, and a new silo starts receiving them, within this period.
    /// Setting <c>LlmRouter:GatewayListRefreshPeriod</c>.
    /// </summary>
    public TimeSpan GatewayListRefreshPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The response timeout of grain calls without their own <c>[ResponseTimeout]</c> (silo and client): the backstop for
    /// a call to a silo that stops answering without being declared dead. The router's call methods carry their own
    /// (ten minutes: LLM calls are long), which is why a lost silo is detected by membership and by the front end's
    /// probes (<see cref="OpenAi.RouterCalls"/>) rather than by this timeout. One value for silos and
    /// clients: a stream's next-item call long-polls for half the silo's value, so the client's must be larger than that.
    /// Setting <c>LlmRouter:ResponseTimeout</c>.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Orleans' Kubernetes hosting on this silo (<see cref="LlmRouterClusterOptions.KubernetesHosting"/>): the pod's
    /// name, namespace and IP come from the downward API instead of <see cref="AdvertisedHost"/>.
    /// </summary>
    public bool KubernetesHosting { get; init; }

    /// <summary>Ledger retention in months (<c>LlmRouter:LedgerRetainMonths</c>); null keeps every row.</summary>
    public int? LedgerRetainMonths { get; init; }

    /// <summary>Where retention exports partitions as CSV before dropping them (<c>LlmRouter:LedgerRetentionExportDirectory</c>).</summary>
    public string? LedgerRetentionExportDirectory { get; init; }

    public const string Invariant = "Npgsql";

    /// <summary>Binds and validates <see cref="LlmRouterOptions"/>, <see cref="LlmRouterStorageOptions"/> and <see cref="LlmRouterClusterOptions"/> from the <c>LlmRouter</c> section.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A value is invalid (the message names its key).</exception>
    public static SiloSettings From(IConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var validator = new LlmRouterOptionsValidator();
        return From(SettingsBinder.Bind<LlmRouterOptions>(config, validator), SettingsBinder.Bind<LlmRouterStorageOptions>(config, validator), SettingsBinder.Bind<LlmRouterClusterOptions>(config, validator));
    }

    /// <summary>The settings of validated options.</summary>
    public static SiloSettings From(LlmRouterOptions gateway, LlmRouterStorageOptions storage, LlmRouterClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.PostgresClustering && string.IsNullOrWhiteSpace(storage.Postgres))
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(LlmRouterStorageOptions), typeof(LlmRouterStorageOptions),
                ["LlmRouter:Postgres (an Npgsql connection string) is required with LlmRouter:Storage=postgres or LlmRouter:Clustering=postgres."]);
        }

        if (storage.LedgerRetainMonths is < 1)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(LlmRouterStorageOptions), typeof(LlmRouterStorageOptions),
                ["LlmRouter:LedgerRetainMonths must be at least 1 (or unset to keep every ledger row)."]);
        }

        var preset = cluster.FastMembership ? MembershipSettings.Fast : MembershipSettings.Production;
        return new SiloSettings(
            gateway.ParsedRole,
            storage.Durable,
            storage.Postgres,
            cluster.PostgresClustering,
            cluster.SiloPort,
            cluster.GatewayPort,
            cluster.ClusterId,
            cluster.ServiceId,
            storage.ParsedOutageMode,
            storage.SpoolDirectory ?? Path.Combine(AppContext.BaseDirectory, "spool"),
            cluster.AdvertisedHost,
            cluster.FastMembership)
        {
            Membership = (cluster.Membership ?? new MembershipOptions()).Over(preset),
            GatewayListRefreshPeriod = LlmRouterClusterOptions.Duration(cluster.GatewayListRefreshPeriod) ?? TimeSpan.FromSeconds(5),
            ResponseTimeout = LlmRouterClusterOptions.Duration(cluster.ResponseTimeout) ?? TimeSpan.FromSeconds(30),
            KubernetesHosting = cluster.KubernetesHosting,
            LedgerRetainMonths = storage.LedgerRetainMonths,
            LedgerRetentionExportDirectory = storage.LedgerRetentionExportDirectory,
        };
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

        client.Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayListRefreshPeriod);
        client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);

        if (Durable)
        {
            client.Services.AddSingleton<ILedger>(sp => new PostgresLedger(
                new PostgresLedgerOptions(PostgresConnectionString!)
                {
                    OutageMode = OutageMode,
                    SpoolDirectory = SpoolDirectory,
                    RetainMonths = LedgerRetainMonths,
                    RetentionExportDirectory = LedgerRetentionExportDirectory,
                },
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
            if (KubernetesHosting)
            {
                // In a pod: Orleans' Kubernetes hosting advertises POD_IP, listens on every address, names the silo after
                // the pod (POD_NAME) and, watching the pods of this cluster (labels orleans/clusterId and orleans/serviceId
                // in POD_NAMESPACE), declares a silo dead as soon as its pod is deleted. Only the ports are ours.
                silo.Configure<Orleans.Configuration.EndpointOptions>(o =>
                {
                    o.SiloPort = SiloPort;
                    o.GatewayPort = GatewayPort;

                    // Set here, not left to the Kubernetes hosting's post-configuration: Orleans' own endpoint
                    // post-configuration runs first and fills in an address of the host's choosing, which the
                    // Kubernetes one then keeps (it only sets an address that is still unset).
                    if (Environment.GetEnvironmentVariable(Orleans.Hosting.Kubernetes.KubernetesHostingOptions.PodIPEnvironmentVariable) is { Length: > 0 } podIp)
                    {
                        o.AdvertisedIPAddress = IPAddress.Parse(podIp);
                    }
                });
                silo.UseKubernetesHosting();
            }
            else
            {
                // On one machine silos advertise loopback; in containers each advertises its own address (LlmRouter:AdvertisedHost).
                var address = string.IsNullOrEmpty(AdvertisedHost)
                    ? IPAddress.Loopback
                    : Dns.GetHostAddresses(AdvertisedHost).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
                silo.ConfigureEndpoints(address, SiloPort, GatewayPort, listenOnAnyHostAddress: !string.IsNullOrEmpty(AdvertisedHost));
            }

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

        if (includeClustering)
        {
            // Failure detection belongs to the clustering the caller may manage itself (a test cluster sets its own).
            var membership = Membership;
            silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = membership.ProbeTimeout;
                o.NumMissedProbesLimit = membership.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = membership.NumVotesForDeathDeclaration;
                o.TableRefreshTimeout = membership.TableRefreshTimeout;
                o.IAmAliveTablePublishTimeout = membership.IAmAliveTablePublishTimeout;
            });
        }

        silo.Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);

        silo.UseSystemTextJsonGrainStorageSerializer();
        if (Durable)
        {
            silo.AddAdoNetGrainStorageAsDefault(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = PostgresConnectionString;
            });
            silo.Services.AddSingleton<ILedger>(sp => new PostgresLedger(
                new PostgresLedgerOptions(PostgresConnectionString!)
                {
                    OutageMode = OutageMode,
                    SpoolDirectory = SpoolDirectory,
                    RetainMonths = LedgerRetainMonths,
                    RetentionExportDirectory = LedgerRetentionExportDirectory,
                },
                sp.GetRequiredService<ILogger<PostgresLedger>>()));
            silo.Services.AddSingleton<Grains.Caching.IResponseCacheStore>(sp => new Grains.Caching.PostgresResponseCacheStore(
                PostgresConnectionString!, sp.GetRequiredService<Orleans.Serialization.Serializer<Grains.Caching.CachedAnswer>>()));
        }
        else
        {
            silo.AddMemoryGrainStorageAsDefault();
        }
    }
}
